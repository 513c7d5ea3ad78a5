// Tokens and refusals: refresh before expiry, 4401 then one new token, 401/403/429
// handshakes, access revoked (4403), a room that becomes read-only.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { OrderChatClient, tokenExpiry } from "../src/index.js";
import { lossyWebSocket } from "./support/lossy.js";
import { WebSocket, next, startServer, token, until } from "./support/server.js";

const FAST = { baseMs: 100, maxMs: 1000 };

function client(server, room, getToken, extra = {}) {
  return new OrderChatClient({ baseUrl: server.url, orderId: room.orderId, getToken, WebSocket, backoff: FAST, ...extra });
}

const pastExpiry = (tok) => until(() => Date.now() > (tokenExpiry(tok) + 2) * 1000, "the token's expiry");

test("a token is refreshed before exp (authenticate): the connection outlives it", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const reasons = [];
  const short = room.customerToken(4);
  const c = client(server, room, (reason) => {
    reasons.push(reason);
    return reason === "initial" ? short : room.customerToken(3600);
  }, { refreshMarginMs: 2000 });
  t.after(() => c.close());
  const closes = [];
  c.on("close", (e) => closes.push(e.code));
  const up = next(c, "connected");
  c.start();
  await up;
  await pastExpiry(short);
  const ack = await c.send("still here after the first token expired");
  assert.equal(ack.seq, 1);
  assert.deepEqual(reasons, ["initial", "expiring"]);
  assert.deepEqual(closes, [], "the connection was never closed");
});

test("without a fresher token: closed 4401 at exp, one new token asked, reconnected", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const reasons = [];
  const short = room.customerToken(3);
  const c = client(server, room, (reason) => {
    reasons.push(reason);
    return reason === "unauthorized" ? room.customerToken(3600) : short;
  });
  t.after(() => c.close());
  const up = next(c, "connected");
  c.start();
  await up;
  const closed = next(c, "close");
  const again = next(c, "connected");
  assert.deepEqual(await closed, { code: 4401, reason: "token expired", willReconnect: true });
  await again;
  assert.deepEqual(reasons, ["initial", "expiring", "unauthorized"]);
  assert.equal((await c.send("back")).seq, 1);
});

test("401 on the upgrade asks for a new token once; refused again, it stops with UNAUTHORIZED", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  // expired first, then valid: connects
  const reasons = [];
  const ok = client(server, room, (reason) => {
    reasons.push(reason);
    return reason === "initial" ? room.customerToken(-60) : room.customerToken(3600);
  });
  t.after(() => ok.close());
  const up = next(ok, "connected");
  ok.start();
  await up;
  assert.deepEqual(reasons, ["initial", "unauthorized"]);

  // always expired: asked once more, then a fatal error; a pending send fails with it
  const asked = [];
  const bad = client(server, room, (reason) => {
    asked.push(reason);
    return room.customerToken(-60);
  });
  const failed = next(bad, "error", (e) => e.fatal);
  const pending = bad.send("never sent");
  bad.start();
  const err = await failed;
  assert.equal(err.code, "UNAUTHORIZED");
  assert.equal(bad.state, "stopped");
  assert.deepEqual(asked, ["initial", "unauthorized"]);
  await assert.rejects(pending, { code: "UNAUTHORIZED" });
});

test("403 on the upgrade is FORBIDDEN and final, read by `ws` or asked of the API", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const stranger = () => token("customer", randomUUID());
  for (const WS of [WebSocket, lossyWebSocket(() => false)]) {
    const c = client(server, room, stranger, { WebSocket: WS });
    const failed = next(c, "error");
    c.start();
    const err = await failed;
    assert.equal(err.code, "FORBIDDEN");
    assert.equal(err.status, 403);
    assert.equal(err.fatal, true);
    assert.equal(c.state, "stopped");
  }
});

test("429 on the upgrade (10 connections held) is retried until a slot frees", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const held = [];
  for (let i = 0; i < 10; i += 1) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/chat?orderId=${room.orderId}`, {
      headers: { Authorization: `Bearer ${room.customerToken()}` },
    });
    await new Promise((ok, fail) => { ws.once("message", ok); ws.once("error", fail); });
    held.push(ws);
  }
  t.after(() => held.forEach((ws) => ws.terminate()));
  const c = client(server, room, () => room.customerToken());
  t.after(() => c.close());
  const refused = next(c, "error");
  c.start();
  const err = await refused;
  assert.equal(err.code, "TOO_MANY_CONNECTIONS");
  assert.equal(err.status, 429);
  assert.equal(err.fatal, false);
  const up = next(c, "connected");
  held.pop().close();
  await up;
  assert.equal(c.state, "live");
});

test("access revoked (4403) stops the client; a room closed is read-only, history kept", async (t) => {
  const server = await startServer(t);
  const room = await server.openRoom();
  const riderId = randomUUID();
  await server.event("order.rider_assigned", { orderId: room.orderId, riderId });
  const rider = client(server, room, () => token("rider", riderId));
  const customer = client(server, room, () => room.customerToken());
  t.after(() => { rider.close(); customer.close(); });
  await Promise.all([next(rider, "connected"), next(customer, "connected"), rider.start(), customer.start()]);
  await customer.send("hello");

  const revoked = next(rider, "error");
  await server.event("order.rider_unassigned", { orderId: room.orderId, riderId });
  const err = await revoked;
  assert.equal(err.code, "ACCESS_REVOKED");
  assert.equal(err.fatal, true);
  assert.equal(rider.state, "stopped");

  const closed = next(customer, "roomClosed");
  await server.event("order.delivered", { orderId: room.orderId, deliveredAt: "2026-11-24T10:00:00Z" });
  assert.equal((await closed).reason, "delivered");
  assert.equal(customer.readOnly, true);
  await assert.rejects(customer.send("too late"), { code: "ROOM_READ_ONLY" });
  assert.equal(customer.typing(), false);

  // a later client with a send written before it connected: refused, history readable
  const later = client(server, room, () => room.vendorToken());
  t.after(() => later.close());
  const pending = later.send("also too late");
  const up = next(later, "connected");
  later.start();
  assert.equal((await up).readOnly, true);
  await assert.rejects(pending, { code: "ROOM_READ_ONLY" });
  assert.deepEqual((await later.history()).messages.map((m) => m.content), ["hello"]);
});
