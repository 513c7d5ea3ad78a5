// The web pages (src/orderchat/web) load this package as a static ES module from
// /shared/client/: a byte copy of src/. `npm run sync-web` writes it; `--check` (and the
// tests) fail when it differs from src/, so there is one implementation, not two.

import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SOURCE = join(PACKAGE, "src");
export const COPY = resolve(PACKAGE, "../../src/orderchat/web/shared/client");

/** @returns {string[]} the differences between src/ and the copy (empty: identical) */
export function differences() {
  const files = (dir) => { try { return readdirSync(dir).filter((f) => f.endsWith(".js")).sort(); } catch { return []; } };
  const want = files(SOURCE);
  const have = files(COPY);
  const problems = [];
  for (const f of want) {
    if (!have.includes(f)) problems.push(`missing ${f}`);
    else if (!readFileSync(join(SOURCE, f)).equals(readFileSync(join(COPY, f)))) problems.push(`differs ${f}`);
  }
  for (const f of have) if (!want.includes(f)) problems.push(`extra ${f}`);
  return problems;
}

function sync() {
  rmSync(COPY, { recursive: true, force: true });
  mkdirSync(COPY, { recursive: true });
  for (const f of readdirSync(SOURCE).filter((name) => name.endsWith(".js"))) copyFileSync(join(SOURCE, f), join(COPY, f));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--check")) {
    const problems = differences();
    if (problems.length) {
      console.error(`src/orderchat/web/shared/client is not a copy of clients/js/src (${problems.join(", ")}): run npm run sync-web`);
      process.exit(1);
    }
  } else {
    sync();
  }
}
