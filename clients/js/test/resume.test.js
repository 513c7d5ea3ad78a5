// Losing things: frames (gap fill over REST), an ack with its connection (re-sent, stored
// once), the whole server (restart with a send pending: stored once, delivered once).

import assert from "node:assert/strict";
import { test } from "node:test";
import { OrderChatClient } from "../src/index.js";
import { lossyWebSocket } from "./support/lossy.js";
import { WebSocket, collect, next, startServer, until } from "./support/server.js";

const FAST = { baseMs: 100, maxMs: 1000 };

function client(server, room, tokenFor, extra = {}) {
  return new OrderChatClient({
    baseUrl: server.url, orderId: room.orderId, getToken: () => tokenFor(), WebSocket, backoff: FAST, ...extra,
  });
}

async function started(c, options) {
  const up = next(c, "connected");
  c.start(options);
  return up;
}

test("a lost newMessage is fetched over REST and delivered in order", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const lost = new Set([2, 3]);
  const reader = client(server, room, room.customerToken, {
    WebSocket: lossyWebSocket((f) => f.event === "newMessage" && lost.delete(f.data.seq)),
  });
  const writer = client(server, room, room.vendorToken);
  t.after(() => { reader.close(); writer.close(); });
  const seen = collect(reader);
  const closes = [];
  reader.on("close", (e) => closes.push(e));
  await started(reader);
  await started(writer);
  for (const text of ["one", "two", "three", "four"]) await writer.send(text);
  await until(() => seen.length === 4, "four messages");
  assert.deepEqual(seen.map((m) => [m.seq, m.content]), [[1, "one"], [2, "two"], [3, "three"], [4, "four"]]);
  assert.equal(lost.size, 0, "both frames were lost on the wire");
  assert.deepEqual(closes, [], "filled over REST, not by reconnecting");
});

test("an ack lost with its connection: the send is re-sent, stored once, delivered once", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  let cut = true;
  const sender = client(server, room, room.customerToken, {
    WebSocket: lossyWebSocket((f, socket) => {
      if (f.event !== "messageAck" || !cut) return false;
      cut = false;
      socket.close(4000, "test cuts the connection");
      return true;
    }),
  });
  const other = client(server, room, room.vendorToken);
  t.after(() => { sender.close(); other.close(); });
  const mine = collect(sender);
  const theirs = collect(other);
  await started(sender);
  await started(other);
  const ack = await sender.send("sent once");
  assert.equal(cut, false, "the first ack was lost");
  assert.equal(ack.content, "sent once");
  await sender.send("after");
  await until(() => theirs.length === 2 && mine.length === 2, "both messages on both sides");
  assert.deepEqual(mine.map((m) => m.content), ["sent once", "after"]);
  assert.deepEqual(theirs.map((m) => m.content), ["sent once", "after"]);
  const stored = await server.messages(room.orderId, room.vendorToken());
  assert.deepEqual(stored.map((m) => m.content), ["sent once", "after"]);
});

test("the server restarts mid-conversation with a send pending: stored once, delivered once", async (t) => {
  let server = await startServer(t);
  const room = await server.openRoom();
  const url = server.url;
  const customer = client({ url }, room, room.customerToken);
  const vendor = client({ url }, room, room.vendorToken);
  t.after(() => { customer.close(); vendor.close(); });
  const toVendor = collect(vendor);
  const toCustomer = collect(customer);
  await started(customer);
  await started(vendor);
  await customer.send("before");
  await vendor.send("reply");

  const down = Promise.all([
    next(customer, "close", (e) => e.willReconnect), next(vendor, "close", (e) => e.willReconnect),
  ]);
  await server.stop();
  const closes = await down;
  assert.deepEqual(closes.map((e) => e.code), [1001, 1001]);
  const pending = customer.send("written while the server is down");
  assert.deepEqual(customer.pending.map((p) => p.text), ["written while the server is down"]);

  server = await startServer(t, { port: server.port, dataDir: server.dataDir });
  const ack = await pending;
  assert.equal(ack.seq, 3);
  await until(() => toVendor.length === 3 && toCustomer.length === 3, "every message on both sides");
  assert.deepEqual(toVendor.map((m) => [m.seq, m.content]), [
    [1, "before"], [2, "reply"], [3, "written while the server is down"],
  ]);
  assert.deepEqual(toCustomer.map((m) => m.seq), [1, 2, 3]);
  const stored = await server.messages(room.orderId, room.vendorToken());
  assert.deepEqual(stored.map((m) => m.content), ["before", "reply", "written while the server is down"]);
});
