// Errors of the client: one class, a SPEC error code or one of the client's own codes.

/** @typedef {import("../types/index.js").ErrorCode} ErrorCode */

/** A refusal or failure, with the SPEC error code (or the client's own, see types). */
export class OrderChatError extends Error {
  /**
   * @param {ErrorCode} code
   * @param {string} message
   * @param {{status?: number | null, clientMessageId?: string | null, fatal?: boolean}} [options]
   */
  constructor(code, message, options = {}) {
    super(message);
    this.name = "OrderChatError";
    /** @type {ErrorCode} */
    this.code = code;
    /** @type {number | null} */
    this.status = options.status ?? null;
    /** @type {string | null} */
    this.clientMessageId = options.clientMessageId ?? null;
    /** @type {boolean} */
    this.fatal = options.fatal ?? false;
  }
}

/** Send refusals worth retrying with the same clientMessageId (SPEC 5.3). */
export const RETRYABLE_SEND_CODES = new Set(["UNAVAILABLE", "RATE_LIMITED"]);

/** Every code of types/index.d.ts ErrorCode: a server's code outside it becomes its status's. */
export const KNOWN_CODES = new Set([
  "INVALID_JSON", "UNKNOWN_EVENT", "INVALID_PAYLOAD", "MESSAGE_EMPTY", "MESSAGE_TOO_LONG",
  "ROOM_READ_ONLY", "FORBIDDEN", "RATE_LIMITED", "UNAVAILABLE", "INVALID_ATTACHMENT",
  "UNAUTHORIZED", "ACCESS_REVOKED", "TOO_MANY_CONNECTIONS", "BAD_REQUEST", "NOT_FOUND",
  "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "HTTP_ERROR", "NETWORK", "CLOSED",
]);

/**
 * The client's code for an HTTP status of the API or of the WebSocket upgrade.
 * @param {number} status
 * @returns {ErrorCode}
 */
export function codeForStatus(status) {
  switch (status) {
    case 0: return "NETWORK";
    case 400: return "BAD_REQUEST";
    case 401: return "UNAUTHORIZED";
    case 403: return "FORBIDDEN";
    case 404: return "NOT_FOUND";
    case 409: return "ROOM_READ_ONLY";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 415: return "UNSUPPORTED_MEDIA_TYPE";
    case 429: return "RATE_LIMITED";
    default: return "HTTP_ERROR";
  }
}
