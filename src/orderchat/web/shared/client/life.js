// One room's connection over time: connect, read frames, notice a silent peer (ping),
// and after a close either reconnect with backoff or stop, by what the close says.

import { OrderChatError, codeForStatus } from "./errors.js";
import { openSocket } from "./transport.js";

/** @typedef {import("../types/index.js").WebSocketLike} WebSocketLike */
/** @typedef {import("../types/index.js").WebSocketConstructor} WebSocketConstructor */
/** @typedef {import("../types/index.js").ConnectionState} ConnectionState */
/** @typedef {import("../types/index.js").StatusEvent} StatusEvent */
/** @typedef {import("../types/index.js").CloseEvent} CloseEvent */
/** @typedef {import("./transport.js").Handshake} Handshake */
/** @typedef {import("./tokens.js").TokenKeeper} TokenKeeper */

/** @type {Record<number, string>} */
const REFUSALS = {
  400: "the order id is not valid",
  403: "this token may not read that order's chat",
  404: "there is no chat for that order",
};

/**
 * @typedef {object} LifeDeps
 * @property {WebSocketConstructor} WebSocket
 * @property {"subprotocol" | "header"} auth
 * @property {TokenKeeper} tokens
 * @property {() => string} url the chat URL for the next attempt (with the resume point)
 * @property {() => Promise<number>} probe the REST API's status for the room (what a browser cannot see of a refused upgrade)
 * @property {(attempt: number) => number} delay backoff before attempt n
 * @property {number} pingIntervalMs
 * @property {(event: string, data: any) => void} frame
 * @property {() => void} down the connection is gone
 * @property {(status: StatusEvent) => void} status
 * @property {(close: CloseEvent) => void} closed
 * @property {(err: OrderChatError) => void} fatal retrying cannot help: stopped
 * @property {(err: OrderChatError) => void} error worth telling, retried anyway
 */

export class ConnectionLife {
  /** @param {LifeDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {WebSocketLike | null} */
    this.ws = null;
    this.live = false;
    this.stopped = false;
    this.attempt = 0;
    this.generation = 0;
    /** asked the provider after a refusal; cleared by the next `connected` */
    this.authRetried = false;
    /** @type {ConnectionState} */
    this.state = "idle";
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pingTimer = undefined;
  }

  start() {
    void this.connect();
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  stop(code, reason) {
    if (this.stopped) return;
    this.halt();
    const ws = this.ws;
    this.ws = null;
    this.live = false;
    if (ws) closeQuietly(ws, code, reason);
    this.deps.down();
    this.deps.closed({ code, reason, willReconnect: false });
  }

  /** Skip the backoff wait. */
  now() {
    if (this.stopped || this.state !== "waiting") return;
    clearTimeout(this.timer);
    void this.connect();
  }

  /**
   * @param {string} event
   * @param {object} data
   * @returns {boolean} false when not connected
   */
  frame(event, data) {
    if (!this.live || !this.ws) return false;
    try {
      this.ws.send(JSON.stringify({ event, data }));
    } catch {
      return false;
    }
    return true;
  }

  /** @param {string} reason end this connection and reconnect (a dead peer, a failed gap fill) */
  drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    void this.ended(ws, 4000, reason, null);
    closeQuietly(ws, 4000, reason);
  }

  /**
   * @param {ConnectionState} state
   * @param {number | null} [delayMs]
   */
  setStatus(state, delayMs = null) {
    this.state = state;
    this.deps.status({ state, attempt: this.attempt, delayMs });
  }

  async connect() {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.setStatus("connecting");
    let token;
    try {
      token = await this.deps.tokens.current();
    } catch (err) {
      if (!this.stopped) this.fail(asFatal(err), 1006, "no token");
      return;
    }
    if (this.stopped || generation !== this.generation) return;
    /** @type {{ws: WebSocketLike, handshake: Handshake}} */
    let opened;
    try {
      opened = openSocket(this.deps.WebSocket, this.deps.url(), token, this.deps.auth);
    } catch (err) {
      this.deps.closed({ code: 1006, reason: String(err), willReconnect: true });
      this.schedule(this.deps.delay(this.attempt));
      return;
    }
    const { ws, handshake } = opened;
    this.ws = ws;
    this.live = false;
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.received(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) void this.ended(ws, ev.code, ev.reason, handshake);
    };
    ws.onerror = () => {}; // a close always follows
  }

  /** @param {unknown} raw */
  received(raw) {
    this.heard();
    /** @type {any} */
    let frame;
    try {
      frame = JSON.parse(String(raw));
    } catch {
      return;
    }
    if (!frame || typeof frame.event !== "string") return;
    if (frame.event === "connected") {
      this.live = true;
      this.attempt = 0;
      this.authRetried = false;
      this.setStatus("live");
    }
    this.deps.frame(frame.event, frame.data ?? {});
  }

  /** Any frame shows the peer alive; after pingIntervalMs of silence, ask; then give up. */
  heard() {
    clearTimeout(this.pingTimer);
    const every = this.deps.pingIntervalMs;
    if (!every) return;
    this.pingTimer = setTimeout(() => {
      if (!this.frame("ping", {})) return;
      this.pingTimer = setTimeout(() => this.drop("no answer to ping"), every);
    }, every);
  }

  /**
   * @param {WebSocketLike} ws
   * @param {number} code
   * @param {string} reason
   * @param {Handshake | null} handshake null: we ended it ourselves
   */
  async ended(ws, code, reason, handshake) {
    if (this.ws !== ws) return;
    const wasLive = this.live;
    this.ws = null;
    this.live = false;
    clearTimeout(this.pingTimer);
    this.deps.down();
    if (this.stopped) return;
    if (code === 4403) {
      this.fail(new OrderChatError("ACCESS_REVOKED", "no longer a participant of this order's chat", { fatal: true }), code, reason);
      return;
    }
    if (code === 4401) {
      await this.unauthorized(code, reason);
      return;
    }
    /** @type {number | null} */
    let wait = null;
    if (!wasLive && handshake) {
      const status = handshake.status ?? (await this.deps.probe());
      if (this.stopped || this.ws) return;
      if (status === 401) {
        await this.unauthorized(code, reason);
        return;
      }
      if (REFUSALS[status]) {
        this.fail(new OrderChatError(codeForStatus(status), REFUSALS[status], { status, fatal: true }), code, reason);
        return;
      }
      if (status === 429) {
        this.deps.error(new OrderChatError("TOO_MANY_CONNECTIONS", "too many connections to this room", { status }));
        wait = handshake.retryAfterMs;
      }
    }
    this.deps.closed({ code, reason, willReconnect: true });
    this.schedule(code === 1013 ? 0 : wait ?? this.deps.delay(this.attempt));
  }

  /**
   * The token was refused: ask the provider once; a second refusal stops.
   * @param {number} code
   * @param {string} reason
   */
  async unauthorized(code, reason) {
    if (this.authRetried) {
      this.fail(new OrderChatError("UNAUTHORIZED", "the token was refused", { status: 401, fatal: true }), code, reason);
      return;
    }
    this.authRetried = true;
    this.deps.closed({ code, reason, willReconnect: true });
    this.setStatus("connecting");
    try {
      await this.deps.tokens.ask("unauthorized");
    } catch (err) {
      if (!this.stopped) this.fail(asFatal(err), code, reason);
      return;
    }
    if (!this.stopped && !this.ws) void this.connect();
  }

  /** @param {number} delayMs */
  schedule(delayMs) {
    this.attempt += 1;
    this.setStatus("waiting", delayMs);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delayMs);
  }

  /**
   * @param {OrderChatError} err
   * @param {number} code
   * @param {string} reason
   */
  fail(err, code, reason) {
    this.halt();
    this.deps.closed({ code, reason, willReconnect: false });
    this.deps.fatal(err);
  }

  halt() {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.timer);
    clearTimeout(this.pingTimer);
    this.setStatus("stopped");
  }
}

/**
 * @param {WebSocketLike} ws
 * @param {number} code
 * @param {string} reason
 */
function closeQuietly(ws, code, reason) {
  try {
    ws.close(code, reason);
  } catch {
    // already closing, or a code the platform refuses: the connection is dropped anyway
  }
}

/**
 * @param {unknown} err
 * @returns {OrderChatError}
 */
function asFatal(err) {
  if (err instanceof OrderChatError) return new OrderChatError(err.code, err.message, { status: err.status, fatal: true });
  return new OrderChatError("UNAUTHORIZED", `the token provider failed: ${err instanceof Error ? err.message : String(err)}`, { fatal: true });
}
