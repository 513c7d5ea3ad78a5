// The pure parts: backoff bounds, ids, token claims, the sequencer's gap fill.

import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, newClientMessageId, tokenClaims, tokenExpiry } from "../src/index.js";
import { Sequencer } from "../src/sequencer.js";
import { token } from "./support/server.js";

test("backoff: equal jitter between half and all of the doubling ceiling, capped", () => {
  assert.equal(backoffDelay(0, {}, () => 0), 250);
  assert.equal(backoffDelay(0, {}, () => 1), 500);
  assert.equal(backoffDelay(3, {}, () => 0), 2000);
  assert.equal(backoffDelay(3, {}, () => 1), 4000);
  assert.equal(backoffDelay(50, {}, () => 1), 15000);
  assert.equal(backoffDelay(2, { baseMs: 100, maxMs: 300 }, () => 0.5), 225);
});

test("client message ids are UUID v4 and differ", () => {
  const ids = new Set(Array.from({ length: 100 }, newClientMessageId));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("token claims are decoded (not verified); garbage gives none", () => {
  const t = token("vendor", "3f2b6c1e-0000-4000-8000-000000000001", 60);
  assert.equal(tokenClaims(t).role, "vendor");
  assert.equal(tokenExpiry(t), tokenClaims(t).exp);
  assert.deepEqual(tokenClaims("not a token"), {});
  assert.equal(tokenExpiry("a.b.c"), null);
});

test("the sequencer holds what follows a hole, fetches the hole, delivers in order once", async () => {
  const stored = [1, 2, 3, 4, 5, 6].map((seq) => ({ seq, content: `m${seq}` }));
  const asked = [];
  const delivered = [];
  let done;
  const finished = new Promise((ok) => { done = ok; });
  const s = new Sequencer({
    deliver: (m) => { delivered.push(m.seq); if (m.seq === 6) done(); },
    fetch: async (after, count) => { asked.push([after, count]); return stored.filter((m) => m.seq > after).slice(0, count); },
    failed: (err) => { throw err; },
  });
  s.push(stored[0]);
  s.push(stored[0]); // a duplicate
  s.push(stored[4]); // 5: 2..4 are missing
  s.push(stored[5]);
  await finished;
  assert.deepEqual(delivered, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(asked, [[1, 3]]);
});
