// A real `orderchat serve` for the tests: started on a free port with a data directory
// of its own, tokens signed with its secret, rooms opened by posting order events.

import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "../../../..");
export const ORDERCHAT = process.env.ORDERCHAT_BIN ?? join(REPO, ".venv/bin/orderchat");
export const SECRET = `js-client-test-${"s".repeat(40)}`;
export const TIMEOUT_MS = 20000;

/** @returns {Promise<number>} */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
      srv.close(() => ok(port));
    });
  });
}

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");

/** An HS256 token signed with the test servers' secret. */
export function token(role, sub = randomUUID(), ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, role, iat: now, exp: now + ttlSeconds })}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}

export class Server {
  constructor({ port, dataDir, env }) {
    Object.assign(this, { port, dataDir, env, proc: null });
    this.logPath = join(dataDir, `server-${port}.log`);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const log = openSync(this.logPath, "a");
    this.proc = spawn(ORDERCHAT, ["serve"], { env: this.env, stdio: ["ignore", log, log] });
    const proc = this.proc;
    const exited = new Promise((ok) => proc.once("exit", ok));
    for (const deadline = Date.now() + 60000; Date.now() < deadline;) {
      if (proc.exitCode !== null) throw new Error(`orderchat serve exited:\n${this.logs()}`);
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return this;
      } catch {
        // not listening yet
      }
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 100))]);
    }
    throw new Error(`orderchat serve did not become healthy:\n${this.logs()}`);
  }

  /** SIGTERM (the server closes connections with 1001) and wait for the exit. */
  async stop(signal = "SIGTERM") {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((ok) => proc.once("exit", ok));
    proc.kill(signal);
    await exited;
  }

  logs() {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  async post(path, body, bearer = token("service")) {
    const resp = await fetch(this.url + path, {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw new Error(`${path}: ${resp.status} ${await resp.text()}`);
    return resp.json();
  }

  event(eventType, payload) {
    return this.post("/v1/events", { eventType, ...payload });
  }

  /** A new open room: {orderId, customer, vendor, customerToken(), vendorToken()}. */
  async openRoom() {
    const room = { orderId: randomUUID(), customer: randomUUID(), vendor: randomUUID() };
    await this.event("order.accepted", { orderId: room.orderId, customerId: room.customer, vendorId: room.vendor });
    return {
      ...room,
      customerToken: (ttl) => token("customer", room.customer, ttl),
      vendorToken: (ttl) => token("vendor", room.vendor, ttl),
    };
  }

  async messages(orderId, bearer) {
    const resp = await fetch(`${this.url}/v1/rooms/${orderId}/messages?limit=200`, {
      headers: { Authorization: `Bearer ${bearer}` },
    });
    return (await resp.json()).messages;
  }
}

/**
 * start a server; `t.after` stops it. Options: env overrides, dataDir/port to restart
 * one on the same database.
 */
export async function startServer(t, { env = {}, port, dataDir } = {}) {
  dataDir ??= mkdtempSync(join(tmpdir(), "orderchat-js-"));
  port ??= await freePort();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ORDERCHAT_")));
  const server = new Server({
    port,
    dataDir,
    env: {
      ...base,
      ORDERCHAT_PORT: String(port),
      ORDERCHAT_DATA_DIR: dataDir,
      ORDERCHAT_JWT_SECRET: SECRET,
      ...env,
    },
  });
  t.after(async () => {
    await server.stop();
    if (!env.ORDERCHAT_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
  });
  return server.start();
}

/** The `ws` package with the Authorization header (native apps, Node). */
export { WebSocket };

/** Waits for the client's next `event` whose data passes `test`. */
export function next(client, event, test = () => true) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      off();
      fail(new Error(`no ${event} within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    const off = client.on(event, (data) => {
      if (!test(data)) return;
      clearTimeout(timer);
      off();
      ok(data);
    });
  });
}

/** Collects every `message` the client delivers. */
export function collect(client) {
  const seen = [];
  client.on("message", (m) => seen.push(m));
  return seen;
}

/** Resolves once `seen` holds n items. */
export async function until(condition, what = "condition") {
  for (const deadline = Date.now() + TIMEOUT_MS; Date.now() < deadline;) {
    if (condition()) return;
    await new Promise((ok) => setTimeout(ok, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
