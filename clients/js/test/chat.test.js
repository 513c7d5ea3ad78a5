// Connect, history, send/ack, duplicate on retry, read marks and typing, against a real
// `orderchat serve` (SQLite).

import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderChatClient, SUBPROTOCOL } from "../src/index.js";
import { WebSocket, collect, next, startServer, until } from "./support/server.js";

function client(server, room, tokenFor, extra = {}) {
  const c = new OrderChatClient({
    baseUrl: server.url,
    orderId: room.orderId,
    getToken: () => tokenFor(),
    WebSocket,
    ...extra,
  });
  return c;
}

test("two clients chat: connect (header and subprotocol), send/ack, live delivery, history, read, typing", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const customer = client(server, room, room.customerToken, { auth: "header" });
  const vendor = client(server, room, room.vendorToken, { auth: "subprotocol" });
  t.after(() => { customer.close(); vendor.close(); });

  const seenByVendor = collect(vendor);
  const connected = next(customer, "connected");
  customer.start();
  const hello = await connected;
  assert.equal(hello.orderId, room.orderId);
  assert.deepEqual(hello.you, { userId: room.customer, role: "customer" });
  assert.equal(hello.readOnly, false);
  assert.equal(customer.state, "live");
  const vendorUp = next(vendor, "connected");
  vendor.start();
  await vendorUp;

  const first = customer.send("Hello, is my order coming?");
  assert.match(first.clientMessageId, /^[0-9a-f-]{36}$/);
  const ack = await first;
  assert.equal(ack.seq, 1);
  assert.equal(ack.duplicate, false);
  assert.equal(ack.content, "Hello, is my order coming?");
  assert.equal(ack.clientMessageId, first.clientMessageId);
  assert.equal(ack.senderId, room.customer);
  assert.deepEqual(customer.pending, []);
  await until(() => seenByVendor.length === 1, "the vendor's message");
  assert.equal(seenByVendor[0].messageId, ack.messageId);

  // typing and read marks reach the other side
  const typing = next(customer, "typing");
  assert.equal(vendor.typing(), true);
  assert.deepEqual(await typing, { userId: room.vendor });
  const read = next(customer, "read");
  assert.equal(vendor.markRead(), true);
  assert.deepEqual(await read, { userId: room.vendor, seq: 1 });
  assert.equal(vendor.markRead(), false, "nothing new to mark");

  await vendor.send("Yes, ten minutes.");
  const page = await customer.history({ limit: 10 });
  assert.deepEqual(page.messages.map((m) => [m.seq, m.content]), [
    [1, "Hello, is my order coming?"], [2, "Yes, ten minutes."],
  ]);
  assert.equal(page.hasMore, false);
  const info = await customer.room();
  assert.equal(info.lastSeq, 2);
  assert.deepEqual((await customer.history({ beforeSeq: 2 })).messages.map((m) => m.seq), [1]);
  assert.equal(customer.lastSeq, 2);
  assert.equal(SUBPROTOCOL, "orderchat.v1");
});

test("a retried clientMessageId is stored once and acked as a duplicate", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const c = client(server, room, room.customerToken);
  t.after(() => c.close());
  const up = next(c, "connected");
  c.start();
  await up;
  const original = await c.send("only once", { clientMessageId: "retry-1" });
  assert.equal(original.duplicate, false);
  const again = await c.send("only once", { clientMessageId: "retry-1" });
  assert.equal(again.duplicate, true);
  assert.equal(again.messageId, original.messageId);
  assert.equal(again.seq, original.seq);
  const stored = await server.messages(room.orderId, room.customerToken());
  assert.deepEqual(stored.map((m) => m.content), ["only once"]);
});

test("the history shown first, then start({lastSeq}) resumes after it with no gap", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const writer = client(server, room, room.vendorToken);
  t.after(() => writer.close());
  const up = next(writer, "connected");
  writer.start();
  await up;
  for (const text of ["a", "b", "c"]) await writer.send(text);

  const reader = client(server, room, room.customerToken);
  t.after(() => reader.close());
  const history = await reader.history({ limit: 2, beforeSeq: 3 });
  assert.deepEqual(history.messages.map((m) => m.seq), [1, 2]);
  const seen = collect(reader);
  reader.start({ lastSeq: 2 });
  await until(() => seen.length === 1, "the replay");
  await writer.send("d");
  await until(() => seen.length === 2, "the live message");
  assert.deepEqual(seen.map((m) => [m.seq, m.content]), [[3, "c"], [4, "d"]]);
});

test("sends past the rate limit are refused RATE_LIMITED, re-sent after the pause, each stored once", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const c = client(server, room, room.customerToken, { rateLimitDelayMs: 300 });
  t.after(() => c.close());
  const refusals = [];
  c.on("error", (e) => e.code === "RATE_LIMITED" && refusals.push(e.clientMessageId));
  const up = next(c, "connected");
  c.start();
  await up;
  const texts = Array.from({ length: 30 }, (_, i) => `burst ${i}`);
  const acks = await Promise.all(texts.map((text) => c.send(text)));
  assert.ok(refusals.length > 0, "the burst of 30 went past the server's 20");
  assert.deepEqual(acks.map((a) => a.content), texts);
  const stored = await server.messages(room.orderId, room.customerToken());
  assert.deepEqual(stored.map((m) => m.content).sort(), [...texts].sort());
  assert.equal(new Set(stored.map((m) => m.clientMessageId)).size, 30);
});
