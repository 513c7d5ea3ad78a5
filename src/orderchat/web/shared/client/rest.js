// The REST half of the public API (SPEC 6, 12, 13): room, history pages, photos and
// quick replies, always with the token in the Authorization header.

import { KNOWN_CODES, OrderChatError, codeForStatus } from "./errors.js";

/** @typedef {import("../types/index.js").RoomInfo} RoomInfo */
/** @typedef {import("../types/index.js").MessagePage} MessagePage */
/** @typedef {import("../types/index.js").HistoryQuery} HistoryQuery */
/** @typedef {import("../types/index.js").UploadedPhoto} UploadedPhoto */
/** @typedef {import("../types/index.js").QuickReply} QuickReply */

/**
 * The http(s) base URL without its trailing slash.
 * @param {string} base
 * @returns {string}
 */
export function httpBase(base) {
  return String(base).replace(/\/+$/, "");
}

/**
 * The WebSocket URL of a room: ws(s)://host/chat?orderId=…[&lastSeq=…].
 * @param {string} base
 * @param {string} orderId
 * @param {number | null} lastSeq
 * @returns {string}
 */
export function chatUrl(base, orderId, lastSeq) {
  const query = new URLSearchParams({ orderId });
  if (lastSeq !== null) query.set("lastSeq", String(lastSeq));
  return `${httpBase(base).replace(/^http/, "ws")}/chat?${query}`;
}

export class RoomApi {
  /**
   * @param {{base: () => string, orderId: string, token: () => string, fetch: typeof fetch}} deps
   */
  constructor(deps) {
    this.deps = deps;
  }

  /**
   * @param {string} path under /v1/rooms/{orderId}
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async request(path, init = {}) {
    const { base, orderId, token, fetch: doFetch } = this.deps;
    const url = `${httpBase(base())}/v1/rooms/${encodeURIComponent(orderId)}${path}`;
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${token()}`, Accept: "application/json" };
    Object.assign(headers, /** @type {Record<string, string> | undefined} */ (init.headers));
    let resp;
    try {
      resp = await doFetch(url, { ...init, headers, cache: "no-store", referrerPolicy: "no-referrer" });
    } catch {
      throw new OrderChatError("NETWORK", "the server cannot be reached", { status: 0 });
    }
    if (!resp.ok) throw await responseError(resp);
    return resp;
  }

  /** @returns {Promise<RoomInfo>} */
  async room() {
    return (await this.request("")).json();
  }

  /**
   * @param {HistoryQuery} [query]
   * @returns {Promise<MessagePage>}
   */
  async history(query = {}) {
    const params = new URLSearchParams();
    for (const key of /** @type {const} */ (["afterSeq", "beforeSeq", "limit"])) {
      const value = query[key];
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    const qs = params.toString();
    return (await this.request(`/messages${qs ? `?${qs}` : ""}`)).json();
  }

  /**
   * @param {Blob | ArrayBuffer | Uint8Array} data
   * @param {string} contentType
   * @returns {Promise<UploadedPhoto>}
   */
  async uploadPhoto(data, contentType) {
    const resp = await this.request("/attachments", {
      method: "POST",
      headers: { "Content-Type": contentType },
      body: /** @type {BodyInit} */ (data),
    });
    return resp.json();
  }

  /**
   * @param {{language?: string}} [options]
   * @returns {Promise<QuickReply[]>}
   */
  async quickReplies(options = {}) {
    /** @type {Record<string, string>} */
    const headers = options.language ? { "Accept-Language": options.language } : {};
    const body = await (await this.request("/quick-replies", { headers })).json();
    return body.quickReplies;
  }

  /**
   * @param {string} attachmentId
   * @param {{variant?: "thumbnail"}} [options]
   * @returns {Promise<Blob>}
   */
  async downloadAttachment(attachmentId, options = {}) {
    const qs = options.variant ? `?variant=${encodeURIComponent(options.variant)}` : "";
    const resp = await this.request(`/attachments/${encodeURIComponent(attachmentId)}${qs}`, {
      headers: { Accept: "*/*" },
    });
    return resp.blob();
  }
}

/**
 * An OrderChatError for a non-2xx answer, with the body's code and message if any.
 * @param {Response} resp
 * @returns {Promise<OrderChatError>}
 */
async function responseError(resp) {
  /** @type {any} */
  let body = null;
  try {
    body = await resp.json();
  } catch {
    body = null;
  }
  const detail = body && typeof body.detail === "object" && body.detail ? body.detail : body;
  const code = KNOWN_CODES.has(detail?.code) ? detail.code : codeForStatus(resp.status);
  const message = typeof detail?.message === "string" ? detail.message
    : typeof body?.detail === "string" ? body.detail : `HTTP ${resp.status}`;
  return new OrderChatError(code, message, { status: resp.status });
}
