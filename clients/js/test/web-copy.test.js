// The web pages' copy of the client is byte for byte src/ (npm run sync-web).

import assert from "node:assert/strict";
import { test } from "node:test";
import { differences } from "../scripts/sync-web.js";

test("src/orderchat/web/shared/client is a byte copy of src/", () => {
  assert.deepEqual(differences(), [], "run: npm run sync-web");
});
