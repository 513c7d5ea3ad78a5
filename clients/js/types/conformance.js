// Checked by `npm run typecheck` (not shipped): the JavaScript implementation has the
// shape types/index.d.ts declares. Each line fails to compile if they drift apart.
import * as impl from "../src/index.js";

/** @type {typeof import("./index.js").OrderChatClient} */
export const OrderChatClient = impl.OrderChatClient;
/** @type {typeof import("./index.js").OrderChatError} */
export const OrderChatError = impl.OrderChatError;
/** @type {typeof import("./index.js").SUBPROTOCOL} */
export const SUBPROTOCOL = impl.SUBPROTOCOL;
/** @type {typeof import("./index.js").backoffDelay} */
export const backoffDelay = impl.backoffDelay;
/** @type {typeof import("./index.js").newClientMessageId} */
export const newClientMessageId = impl.newClientMessageId;
/** @type {typeof import("./index.js").tokenClaims} */
export const tokenClaims = impl.tokenClaims;
/** @type {typeof import("./index.js").tokenExpiry} */
export const tokenExpiry = impl.tokenExpiry;

/** And the other way: an instance of the implementation is a declared client. */
/** @param {impl.OrderChatClient} c @returns {import("./index.js").OrderChatClient} */
export const asDeclared = (c) => c;
