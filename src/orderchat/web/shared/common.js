// Helpers shared by the participant page (/app/) and the admin console (/admin/).
// Plain ES module, no build step. Data reaches the DOM only through text nodes
// (el() sets textContent / appends strings), never through innerHTML.

export const SUBPROTOCOL = "orderchat.v1";
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** el("p", {className: "x", text: "hello"}, child...): a new element; strings become text nodes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** GET a JSON resource of the public API with the token in the Authorization header. */
export async function api(token, path) {
  let resp;
  try {
    resp = await fetch(path, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "NETWORK", "the server cannot be reached");
  }
  let body = null;
  try {
    body = await resp.json();
  } catch {
    body = null;
  }
  if (!resp.ok) {
    throw new ApiError(resp.status, body?.code ?? `HTTP_${resp.status}`, body?.message ?? resp.statusText);
  }
  return body;
}

/** A short human sentence for an API error met while opening a room. */
export function explain(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  switch (err.status) {
    case 0: return "The server cannot be reached.";
    case 401: return "This token is not valid or has expired.";
    case 403: return "This token may not read that order's chat.";
    case 404: return "There is no chat for that order.";
    default: return `The server answered ${err.status} (${err.code}).`;
  }
}

/** A random UUID v4; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The claims of a JWT, for display only (the server verifies it). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

export function formatTime(iso) {
  return iso ? timeFmt.format(new Date(iso)) : "";
}

export function formatDateTime(iso) {
  return iso ? dateTimeFmt.format(new Date(iso)) : "—";
}

export function roleLabel(role) {
  return role ? role.charAt(0).toUpperCase() + role.slice(1) : "Someone";
}

/** The token lives in this tab's sessionStorage only: never in a URL, gone with the tab. */
export function tokenStore(key) {
  return {
    get: () => sessionStorage.getItem(key) ?? "",
    set: (token) => sessionStorage.setItem(key, token),
    clear: () => sessionStorage.removeItem(key),
  };
}

/** The order id from the page's hash (#order=<uuid>) or query (?orderId=<uuid>). */
export function orderFromLocation() {
  const hash = new URLSearchParams(location.hash.slice(1)).get("order");
  const query = new URLSearchParams(location.search).get("orderId");
  const id = (hash || query || "").trim();
  return UUID_RE.test(id) ? id.toLowerCase() : "";
}

export function setOrderInLocation(orderId) {
  const url = new URL(location.href);
  url.search = "";
  url.hash = orderId ? `order=${orderId}` : "";
  history.replaceState(null, "", url);
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const FATAL_CLOSES = {
  4401: "Your token expired: sign in again with a fresh token.",
  4403: "You are no longer a participant of this order's chat.",
};

/**
 * One room's WebSocket with reconnection: exponential backoff with jitter, resuming
 * with ?lastSeq= of the last message shown (lastSeq() is asked at each attempt).
 * The token travels as the subprotocol pair (browsers cannot set headers).
 * onFrame(event, data); onStatus(status, detail) with status connecting | live |
 * waiting (detail.delay ms) | stopped; onFatal(sentence) when retrying cannot help.
 */
export class RoomSocket {
  constructor({ orderId, token, lastSeq, onFrame, onStatus = () => {}, onFatal = () => {} }) {
    Object.assign(this, { orderId, token, lastSeq, onFrame, onStatus, onFatal });
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) ws.close(1000);
    this.onStatus("stopped", {});
  }

  get isLive() {
    return this.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  send(event, data = {}) {
    if (!this.isLive) return false;
    this.ws.send(JSON.stringify({ event, data }));
    return true;
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ orderId: this.orderId, lastSeq: String(this.lastSeq()) });
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/chat?${query}`, [SUBPROTOCOL, `bearer.${this.token}`]);
    } catch {
      this.schedule(0);
      return;
    }
    this.ws = ws;
    this.ready = false;
    this.onStatus("connecting", { attempt: this.attempt });
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame?.event === "connected") {
        this.ready = true;
        this.attempt = 0;
        this.onStatus("live", {});
      }
      if (typeof frame?.event === "string") this.onFrame(frame.event, frame.data ?? {});
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      const wasReady = this.ready;
      this.ws = null;
      this.ready = false;
      if (this.stopped) return;
      if (FATAL_CLOSES[ev.code]) {
        this.fatal(FATAL_CLOSES[ev.code]);
        return;
      }
      // A refused upgrade does not tell the page its HTTP status: ask the REST API
      // whether the token still gives access before retrying for ever.
      if (!wasReady) this.checkAccess();
      this.schedule(ev.code);
    };
  }

  async checkAccess() {
    try {
      await api(this.token, `/v1/rooms/${this.orderId}`);
    } catch (err) {
      if (!this.stopped && (err.status === 401 || err.status === 403 || err.status === 404)) {
        this.fatal(explain(err));
      }
    }
  }

  fatal(sentence) {
    this.stop();
    this.onFatal(sentence);
  }

  schedule(code) {
    if (this.stopped) return;
    // 1013: the server asks for an immediate resume; otherwise "equal jitter" backoff
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    const delay = code === 1013 ? 0 : Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.attempt += 1;
    this.onStatus("waiting", { delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

/** The text of a status pill for RoomSocket.onStatus. */
export function statusText(status, detail) {
  switch (status) {
    case "connecting": return detail.attempt ? "Reconnecting…" : "Connecting…";
    case "live": return "Live";
    case "waiting": return `Offline · retrying in ${Math.max(1, Math.round(detail.delay / 1000))} s`;
    default: return "Not connected";
  }
}
