// The sends waiting for their ack. Each keeps its clientMessageId for life, so sending
// it again (after a reconnection, an UNAVAILABLE or a RATE_LIMITED) never stores it
// twice: the server acks the original with duplicate: true (SPEC 5.3).

import { newClientMessageId } from "./util.js";

/** @typedef {import("../types/index.js").AckedMessage} AckedMessage */
/** @typedef {import("../types/index.js").PendingSend} PendingSend */
/** @typedef {import("../types/index.js").SendOptions} SendOptions */
/** @typedef {import("../types/index.js").SendPromise} SendPromise */
/** @typedef {import("./errors.js").OrderChatError} OrderChatError */

/**
 * @typedef {object} Item
 * @property {string} clientMessageId
 * @property {string} text
 * @property {string[]} attachmentIds
 * @property {boolean} inFlight sent on the current connection, no answer yet
 * @property {SendPromise} promise
 * @property {(ack: AckedMessage) => void} resolve
 * @property {(err: OrderChatError) => void} reject
 */

/**
 * A promise that does not count as unhandled when the caller ignores it (errors are
 * also reported as `error` events); `.then`/`await` on it still see the rejection.
 * @param {string} clientMessageId
 * @returns {{promise: SendPromise, resolve: (ack: AckedMessage) => void, reject: (err: OrderChatError) => void}}
 */
export function sendPromise(clientMessageId) {
  /** @type {(ack: AckedMessage) => void} */
  let resolve = () => {};
  /** @type {(err: OrderChatError) => void} */
  let reject = () => {};
  const inner = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  inner.catch(() => {});
  const promise = /** @type {SendPromise} */ (Object.assign(inner, { clientMessageId }));
  return { promise, resolve, reject };
}

export class Outbox {
  /**
   * @param {(item: Item) => boolean} transmit sends one, false when the connection is not up
   */
  constructor(transmit) {
    this.transmit = transmit;
    /** @type {Map<string, Item>} in the order of send() */
    this.items = new Map();
    this.live = false;
    this.paused = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pauseTimer = undefined;
    /** refusals since the last ack, for the retry delay */
    this.strikes = 0;
  }

  /**
   * @param {string} text
   * @param {SendOptions} options
   * @returns {SendPromise}
   */
  add(text, options) {
    const clientMessageId = options.clientMessageId ?? newClientMessageId();
    const known = this.items.get(clientMessageId);
    if (known) return known.promise;
    const { promise, resolve, reject } = sendPromise(clientMessageId);
    const attachmentIds = [...(options.attachmentIds ?? [])];
    this.items.set(clientMessageId, { clientMessageId, text, attachmentIds, inFlight: false, promise, resolve, reject });
    this.flush();
    return promise;
  }

  /** @returns {PendingSend[]} */
  list() {
    return [...this.items.values()].map(({ clientMessageId, text, attachmentIds }) => ({
      clientMessageId, text, attachmentIds: [...attachmentIds],
    }));
  }

  /** @param {string | null} clientMessageId */
  has(clientMessageId) {
    return clientMessageId !== null && this.items.has(clientMessageId);
  }

  /**
   * @param {AckedMessage} ack
   * @returns {boolean} whether it answered a pending send
   */
  acked(ack) {
    const item = ack.clientMessageId === null ? undefined : this.items.get(ack.clientMessageId);
    if (!item) return false;
    this.items.delete(item.clientMessageId);
    this.strikes = 0;
    item.resolve(ack);
    return true;
  }

  /**
   * @param {string} clientMessageId
   * @param {OrderChatError} err
   */
  fail(clientMessageId, err) {
    const item = this.items.get(clientMessageId);
    if (!item) return;
    this.items.delete(clientMessageId);
    item.reject(err);
  }

  /** @param {(clientMessageId: string) => OrderChatError} errorFor */
  failAll(errorFor) {
    for (const id of [...this.items.keys()]) this.fail(id, errorFor(id));
  }

  /** A connection is up: everything not acked is sent again, in order. */
  up() {
    this.live = true;
    for (const item of this.items.values()) item.inFlight = false;
    this.flush();
  }

  down() {
    this.live = false;
    for (const item of this.items.values()) item.inFlight = false;
  }

  /**
   * A refusal worth retrying: the sends wait `delay(strikes)` ms, then go again in order.
   * @param {string} clientMessageId
   * @param {(strikes: number) => number} delay
   */
  retry(clientMessageId, delay) {
    const item = this.items.get(clientMessageId);
    if (!item) return;
    item.inFlight = false;
    this.paused = true;
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.paused = false;
      this.flush();
    }, delay(this.strikes));
    this.strikes += 1;
  }

  flush() {
    if (!this.live || this.paused) return;
    for (const item of this.items.values()) {
      if (item.inFlight) continue;
      if (!this.transmit(item)) return;
      item.inFlight = true;
    }
  }

  stop() {
    clearTimeout(this.pauseTimer);
    this.paused = false;
  }
}
