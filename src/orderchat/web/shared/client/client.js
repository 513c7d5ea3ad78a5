// OrderChatClient: one order's room over WebSocket (SPEC 5) with what apps need around
// it (SPEC 14): reconnection with backoff and lastSeq resume, pending sends re-sent
// with their clientMessageId, gap fill over REST, token refresh, clear errors.

import { Emitter } from "./emitter.js";
import { OrderChatError, RETRYABLE_SEND_CODES } from "./errors.js";
import { Outbox, sendPromise } from "./outbox.js";
import { RoomApi, chatUrl } from "./rest.js";
import { Sequencer } from "./sequencer.js";
import { TokenKeeper } from "./tokens.js";
import { ConnectionLife } from "./life.js";
import { isReactNative } from "./transport.js";
import { backoffDelay } from "./util.js";

/** @typedef {import("../types/index.js").OrderChatOptions} OrderChatOptions */
/** @typedef {import("../types/index.js").OrderChatEvents} OrderChatEvents */
/** @typedef {import("../types/index.js").ConnectionState} ConnectionState */
/** @typedef {import("../types/index.js").ConnectedData} ConnectedData */
/** @typedef {import("../types/index.js").Message} Message */
/** @typedef {import("../types/index.js").AckedMessage} AckedMessage */
/** @typedef {import("../types/index.js").Participant} Participant */
/** @typedef {import("../types/index.js").ClosedReason} ClosedReason */
/** @typedef {import("../types/index.js").SendOptions} SendOptions */
/** @typedef {import("../types/index.js").SendPromise} SendPromise */
/** @typedef {import("../types/index.js").PendingSend} PendingSend */
/** @typedef {import("../types/index.js").HistoryQuery} HistoryQuery */
/** @typedef {import("../types/index.js").PhotoType} PhotoType */

const MAX_FILL_PAGE = 200;

export class OrderChatClient {
  /** @param {OrderChatOptions} options */
  constructor(options) {
    if (!options || typeof options.orderId !== "string" || !options.orderId) {
      throw new TypeError("orderChat: options.orderId is required");
    }
    if (!options.baseUrl) throw new TypeError("orderChat: options.baseUrl is required");
    if (!options.token && !options.getToken) throw new TypeError("orderChat: options.token or getToken is required");
    /** @readonly */
    this.orderId = options.orderId.toLowerCase();
    this.options = options;
    const base = options.baseUrl;
    this.base = typeof base === "function" ? base : () => base;
    /** @type {Emitter<OrderChatEvents>} */
    this.events = new Emitter();
    /** @type {ConnectionState} */
    this.currentState = "idle";
    /** @type {boolean} */
    this.readOnly = false;
    /** @type {ClosedReason | null} */
    this.closedReason = null;
    /** @type {Participant | null} */
    this.me = null;
    /** @type {Participant[]} */
    this.participants = [];
    /** whether the next connection resumes with ?lastSeq= (false until a start point is known) */
    this.resume = false;
    this.markedRead = 0;
    const fixed = options.token;
    this.tokens = new TokenKeeper({
      provider: options.getToken ?? (() => /** @type {string} */ (fixed)),
      marginMs: options.refreshMarginMs ?? 60000,
      refreshed: (token) => this.life.frame("authenticate", { token }),
      failed: (err) => this.report(asError(err, "UNAUTHORIZED")),
    });
    this.api = new RoomApi({
      base: this.base,
      orderId: this.orderId,
      token: () => this.tokens.token ?? "",
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    });
    this.sequencer = new Sequencer({
      deliver: (m) => this.deliver(m),
      fetch: async (afterSeq, count) => (await this.rest(() => this.api.history({
        afterSeq, limit: Math.max(1, Math.min(MAX_FILL_PAGE, count)),
      }))).messages,
      failed: () => this.life.drop("gap fill failed"),
    });
    this.outbox = new Outbox((item) => this.life.frame("sendMessage", {
      message: item.text,
      clientMessageId: item.clientMessageId,
      ...(item.attachmentIds.length ? { attachmentIds: item.attachmentIds } : {}),
    }));
    this.life = new ConnectionLife({
      WebSocket: options.WebSocket ?? /** @type {any} */ (globalThis).WebSocket,
      auth: options.auth ?? (isReactNative() ? "header" : "subprotocol"),
      tokens: this.tokens,
      url: () => chatUrl(this.base(), this.orderId, this.resume ? this.sequencer.lastSeq : null),
      probe: () => this.api.room().then(() => 200, (err) => err.status ?? 0),
      delay: (attempt) => backoffDelay(attempt, options.backoff),
      pingIntervalMs: options.pingIntervalMs ?? 25000,
      frame: (event, data) => this.onFrame(event, data),
      down: () => this.outbox.down(),
      status: (status) => {
        this.currentState = status.state;
        this.events.emit("status", status);
      },
      closed: (close) => this.events.emit("close", close),
      fatal: (err) => this.stopWith(err),
      error: (err) => this.report(err),
    });
  }

  /** @returns {ConnectionState} */
  get state() {
    return this.currentState;
  }

  /** @returns {number} */
  get lastSeq() {
    return this.sequencer.lastSeq;
  }

  /** @returns {PendingSend[]} */
  get pending() {
    return this.outbox.list();
  }

  /**
   * @template {keyof OrderChatEvents} K
   * @param {K} event
   * @param {(data: OrderChatEvents[K]) => void} listener
   * @returns {() => void}
   */
  on(event, listener) {
    return this.events.on(event, listener);
  }

  /**
   * @template {keyof OrderChatEvents} K
   * @param {K} event
   * @param {(data: OrderChatEvents[K]) => void} listener
   */
  off(event, listener) {
    this.events.off(event, listener);
  }

  /** @param {{lastSeq?: number}} [options] */
  start(options = {}) {
    if (this.currentState !== "idle") return;
    if (typeof options.lastSeq === "number") {
      this.sequencer.reset(options.lastSeq);
      this.resume = true;
    }
    this.life.start();
  }

  close() {
    if (this.currentState === "stopped") return;
    this.life.stop(1000, "");
    this.tokens.stop();
    this.outbox.stop();
    this.outbox.failAll((id) => new OrderChatError("CLOSED", "the client was closed", { clientMessageId: id }));
  }

  reconnectNow() {
    this.life.now();
  }

  /**
   * @param {string} text
   * @param {SendOptions} [options]
   * @returns {SendPromise}
   */
  send(text, options = {}) {
    const refusal = this.currentState === "stopped" ? new OrderChatError("CLOSED", "the client is stopped")
      : this.readOnly ? new OrderChatError("ROOM_READ_ONLY", "the room is read-only") : null;
    if (refusal) {
      const { promise, reject } = sendPromise(options.clientMessageId ?? "");
      reject(refusal);
      return promise;
    }
    return this.outbox.add(String(text), options);
  }

  /**
   * @param {number} [seq]
   * @returns {boolean}
   */
  markRead(seq = this.sequencer.lastSeq) {
    if (this.readOnly || seq <= this.markedRead || this.me?.role === "admin") return false;
    if (!this.life.frame("markRead", { seq })) return false;
    this.markedRead = seq;
    return true;
  }

  /** @returns {boolean} */
  typing() {
    return !this.readOnly && this.me?.role !== "admin" && this.life.frame("typing", {});
  }

  room() {
    return this.rest(() => this.api.room());
  }

  /** @param {HistoryQuery} [query] */
  history(query) {
    return this.rest(() => this.api.history(query));
  }

  /**
   * @param {Blob | ArrayBuffer | Uint8Array} data
   * @param {PhotoType} contentType
   */
  uploadPhoto(data, contentType) {
    return this.rest(() => this.api.uploadPhoto(data, contentType));
  }

  /** @param {{language?: string}} [options] */
  quickReplies(options) {
    return this.rest(() => this.api.quickReplies(options));
  }

  /**
   * @param {string} attachmentId
   * @param {{variant?: "thumbnail"}} [options]
   */
  downloadAttachment(attachmentId, options) {
    return this.rest(() => this.api.downloadAttachment(attachmentId, options));
  }

  // ---- inside ---------------------------------------------------------------------

  /**
   * A REST call with the current token; a 401 asks the provider for a new one, once.
   * @template T
   * @param {() => Promise<T>} call
   * @returns {Promise<T>}
   */
  async rest(call) {
    await this.tokens.current();
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof OrderChatError) || err.code !== "UNAUTHORIZED") throw err;
      await this.tokens.ask("unauthorized");
      return call();
    }
  }

  /**
   * @param {string} event
   * @param {any} data
   */
  onFrame(event, data) {
    switch (event) {
      case "connected": return this.onConnected(data);
      case "newMessage": return this.sequencer.push(data);
      case "messageAck": {
        /** @type {AckedMessage} */
        const ack = data;
        if (this.outbox.acked(ack)) this.events.emit("ack", ack);
        const { duplicate: _duplicate, ...message } = ack;
        return this.sequencer.push(message);
      }
      case "error": return this.onServerError(data);
      case "roomClosed":
        this.setReadOnly(data.reason);
        return this.events.emit("roomClosed", data);
      case "participantJoined":
        this.participants = [...this.participants.filter((p) => p.userId !== data.userId), data];
        return this.events.emit("participantJoined", data);
      case "participantLeft":
        this.participants = this.participants.filter((p) => p.userId !== data.userId);
        return this.events.emit("participantLeft", data);
      case "read": return this.events.emit("read", data);
      case "typing": return this.events.emit("typing", data);
      default: return undefined; // pong, and events of a later protocol version
    }
  }

  /** @param {ConnectedData} data */
  onConnected(data) {
    this.me = data.you;
    this.participants = data.participants;
    if (this.resume) this.sequencer.restart(); // the server replays from our lastSeq
    else this.sequencer.reset(data.lastSeq);
    this.resume = true;
    this.events.emit("connected", data);
    if (data.readOnly) this.setReadOnly(data.closedReason);
    else this.outbox.up();
  }

  /** @param {ClosedReason | null} reason */
  setReadOnly(reason) {
    this.readOnly = true;
    this.closedReason = reason;
    this.outbox.failAll((id) => new OrderChatError("ROOM_READ_ONLY", "the room is read-only", { clientMessageId: id }));
  }

  /** @param {{code: any, message: string, clientMessageId?: string}} data */
  onServerError(data) {
    const cmid = data.clientMessageId ?? null;
    const err = new OrderChatError(data.code, data.message, { clientMessageId: cmid });
    if (cmid !== null && this.outbox.has(cmid)) {
      if (RETRYABLE_SEND_CODES.has(data.code)) {
        const baseMs = data.code === "RATE_LIMITED" ? this.options.rateLimitDelayMs ?? 1000 : 500;
        this.outbox.retry(cmid, (strikes) => backoffDelay(strikes, { baseMs, maxMs: 15000 }));
      } else {
        this.outbox.fail(cmid, err);
      }
    }
    this.report(err);
  }

  /** @param {Message} m a stored message, next in seq order */
  deliver(m) {
    // a send stored before its ack was lost: learnt from the replay or the gap fill
    if (m.senderId === this.me?.userId && this.outbox.has(m.clientMessageId)) {
      const ack = { ...m, duplicate: true };
      this.outbox.acked(ack);
      this.events.emit("ack", ack);
    }
    this.events.emit("message", m);
  }

  /** @param {OrderChatError} err */
  report(err) {
    this.events.emit("error", err);
  }

  /** @param {OrderChatError} err */
  stopWith(err) {
    this.tokens.stop();
    this.outbox.stop();
    this.outbox.failAll((id) => new OrderChatError(err.code, err.message, { clientMessageId: id, status: err.status }));
    this.report(err);
  }
}

/**
 * @param {unknown} err
 * @param {import("../types/index.js").ErrorCode} code
 * @returns {OrderChatError}
 */
export function asError(err, code) {
  if (err instanceof OrderChatError) return err;
  return new OrderChatError(code, err instanceof Error ? err.message : String(err));
}
