// PostgreSQL + Redis, two instances: a client whose instance stops reconnects to the
// other, resumes with lastSeq and misses nothing; its pending send is stored once.
// Needs ORDERCHAT_TEST_POSTGRES_URL (scripts/test sets it) and redis-server.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { test } from "node:test";
import { OrderChatClient } from "../src/index.js";
import { REPO, WebSocket, collect, freePort, next, startServer, until } from "./support/server.js";

const PG = process.env.ORDERCHAT_TEST_POSTGRES_URL;

/** A database of this file's own next to the suite's: <name>_js, created if missing. */
function database() {
  const url = new URL(PG);
  const name = `${url.pathname.slice(1)}_js`;
  const admin = new URL(PG);
  admin.pathname = "/postgres";
  const script = `
import asyncio, asyncpg, sys
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    if not await conn.fetchval("select 1 from pg_database where datname = $1", sys.argv[2]):
        await conn.execute(f'create database "{sys.argv[2]}"')
    await conn.close()
asyncio.run(main())`;
  const run = spawnSync(`${REPO}/.venv/bin/python`, ["-c", script, admin.toString(), name], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  url.pathname = `/${name}`;
  return url.toString();
}

async function redis(t) {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  t.after(() => proc.kill("SIGTERM"));
  return `redis://127.0.0.1:${port}/0`;
}

test("two instances on PostgreSQL + Redis: reconnecting from one to the other", { skip: !PG && "ORDERCHAT_TEST_POSTGRES_URL is not set" }, async (t) => {
  const env = { ORDERCHAT_DATABASE_URL: database(), ORDERCHAT_REDIS_URL: await redis(t) };
  const a = await startServer(t, { env });
  const b = await startServer(t, { env });
  const room = await a.openRoom();
  let customerBase = a.url;
  const customer = new OrderChatClient({
    baseUrl: () => customerBase, orderId: room.orderId, getToken: () => room.customerToken(), WebSocket,
    backoff: { baseMs: 100, maxMs: 1000 },
  });
  const vendor = new OrderChatClient({
    baseUrl: b.url, orderId: room.orderId, getToken: () => room.vendorToken(), WebSocket,
  });
  t.after(() => { customer.close(); vendor.close(); });
  const toCustomer = collect(customer);
  const toVendor = collect(vendor);
  await Promise.all([next(customer, "connected"), next(vendor, "connected"), customer.start(), vendor.start()]);

  await customer.send("from instance A");
  await vendor.send("from instance B");
  await until(() => toCustomer.length === 2 && toVendor.length === 2, "both messages across instances");

  // A stops: the customer's next attempts go to B; meanwhile the vendor writes and the
  // customer's send waits
  const dropped = next(customer, "close", (e) => e.willReconnect);
  customerBase = b.url;
  await a.stop();
  await dropped;
  const pending = customer.send("written while switching");
  await vendor.send("while the customer was away");
  const ack = await pending;
  await until(() => toCustomer.length === 4 && toVendor.length === 4, "every message on both sides");
  assert.deepEqual(toCustomer.map((m) => m.seq), [1, 2, 3, 4]);
  assert.deepEqual(toVendor.map((m) => m.seq), [1, 2, 3, 4]);
  assert.equal(toCustomer[ack.seq - 1].content, "written while switching");
  const stored = await b.messages(room.orderId, room.vendorToken());
  assert.deepEqual(stored.map((m) => m.content).sort(), [
    "from instance A", "from instance B", "while the customer was away", "written while switching",
  ]);
});
