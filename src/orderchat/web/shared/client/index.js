// orderchat-client: the JavaScript client of orderchat (SPEC 14). Types: types/index.d.ts.

export { OrderChatClient } from "./client.js";
export { OrderChatError } from "./errors.js";
export { SUBPROTOCOL } from "./transport.js";
export { backoffDelay, newClientMessageId, tokenClaims, tokenExpiry } from "./util.js";
