// Helpers shared by the participant page (/app/) and the admin console (/admin/).
// Plain ES module, no build step. Data reaches the DOM only through text nodes
// (el() sets textContent / appends strings), never through innerHTML.

import { OrderChatClient } from "./client/index.js";

export { tokenClaims as claims } from "./client/index.js";
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

/** A short human sentence for an API error (ApiError or the client's OrderChatError). */
export function explain(err) {
  if (typeof err?.status !== "number") return String(err?.message ?? err);
  switch (err.status) {
    case 0: return "The server cannot be reached.";
    case 401: return "This token is not valid or has expired.";
    case 403: return "This token may not read that order's chat.";
    case 404: return "There is no chat for that order.";
    default: return `The server answered ${err.status} (${err.code}).`;
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

const FATAL_SENTENCES = {
  ACCESS_REVOKED: "You are no longer a participant of this order's chat.",
  UNAUTHORIZED: "Your token expired: sign in again with a fresh token.",
};

/**
 * The shared JavaScript client (clients/js, served as /shared/client/) for one room of
 * this server: the token travels as the subprotocol pair (browsers cannot set headers);
 * coming back online skips the backoff wait. The page's token is fixed: asked again
 * after a refusal, it is the same one, so the client stops with UNAUTHORIZED.
 */
export function roomClient(orderId, token) {
  const client = new OrderChatClient({ baseUrl: location.origin, orderId, token, auth: "subprotocol" });
  const online = () => client.reconnectNow();
  window.addEventListener("online", online);
  client.on("status", ({ state }) => {
    if (state === "stopped") window.removeEventListener("online", online);
  });
  return client;
}

/** The sentence for an error that stopped the client. */
export function fatalSentence(err) {
  return FATAL_SENTENCES[err.code] ?? explain(err);
}

/** The text of a status pill for the client's `status` event. */
export function statusText({ state, attempt, delayMs }) {
  switch (state) {
    case "connecting": return attempt ? "Reconnecting…" : "Connecting…";
    case "live": return "Live";
    case "waiting": return `Offline · retrying in ${Math.max(1, Math.round((delayMs ?? 0) / 1000))} s`;
    default: return "Not connected";
  }
}
