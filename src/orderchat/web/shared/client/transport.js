// Opening the WebSocket: the token as the subprotocol pair (browsers cannot set
// headers) or as an Authorization header (React Native, `ws`), and what can be learnt
// of a refused upgrade.

/** @typedef {import("../types/index.js").WebSocketLike} WebSocketLike */
/** @typedef {import("../types/index.js").WebSocketConstructor} WebSocketConstructor */

export const SUBPROTOCOL = "orderchat.v1";

/**
 * What the upgrade answered when it was refused. Browsers and React Native do not tell
 * (the client then asks the REST API whether the token still gives access); `ws` does,
 * through its `unexpected-response` event.
 * @typedef {object} Handshake
 * @property {number | null} status
 * @property {number | null} retryAfterMs from a Retry-After header, if any
 */

/** @returns {boolean} */
export function isReactNative() {
  return typeof navigator !== "undefined" && navigator.product === "ReactNative";
}

/**
 * @param {WebSocketConstructor} WS
 * @param {string} url
 * @param {string} token
 * @param {"subprotocol" | "header"} auth
 * @returns {{ws: WebSocketLike, handshake: Handshake}}
 */
export function openSocket(WS, url, token, auth) {
  const ws = auth === "header"
    ? new WS(url, [SUBPROTOCOL], { headers: { Authorization: `Bearer ${token}` } })
    : new WS(url, [SUBPROTOCOL, `bearer.${token}`]);
  /** @type {Handshake} */
  const handshake = { status: null, retryAfterMs: null };
  const node = /** @type {any} */ (ws);
  if (typeof node.on === "function" && typeof node.terminate === "function") {
    // `ws`: read the refused upgrade's status, then end the attempt (close follows)
    node.on("unexpected-response", (/** @type {any} */ _req, /** @type {any} */ res) => {
      handshake.status = Number(res.statusCode);
      const after = Number(res.headers?.["retry-after"]);
      if (Number.isFinite(after) && after >= 0) handshake.retryAfterMs = after * 1000;
      node.terminate();
    });
  }
  return { ws, handshake };
}
