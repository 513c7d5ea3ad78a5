// The token: asked of the app's provider at start, again before it expires (the client
// then sends `authenticate`, SPEC 5.5), and once after the server refused it.

import { OrderChatError } from "./errors.js";
import { tokenClaims, tokenExpiry } from "./util.js";

/** @typedef {import("../types/index.js").TokenProvider} TokenProvider */
/** @typedef {import("../types/index.js").TokenReason} TokenReason */

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit (~24.8 days)

export class TokenKeeper {
  /**
   * @param {object} deps
   * @param {TokenProvider} deps.provider
   * @param {number} deps.marginMs ask this long before exp (at most half the token's life)
   * @param {(token: string) => void} deps.refreshed a fresher token came before expiry
   * @param {(err: unknown) => void} deps.failed the provider failed when asked before expiry
   */
  constructor(deps) {
    this.deps = deps;
    /** @type {string | null} */
    this.token = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.stopped = false;
  }

  /** @returns {Promise<string>} the current token, asked for the first time if needed */
  async current() {
    return this.token ?? this.ask("initial");
  }

  /**
   * @param {TokenReason} reason
   * @returns {Promise<string>}
   */
  async ask(reason) {
    const token = await this.deps.provider(reason);
    if (typeof token !== "string" || token === "") {
      throw new OrderChatError("UNAUTHORIZED", "the token provider gave no token", { fatal: true });
    }
    this.set(token);
    return token;
  }

  /** @param {string} token */
  set(token) {
    this.token = token;
    clearTimeout(this.timer);
    const exp = tokenExpiry(token);
    if (exp === null || this.stopped) return;
    const now = Date.now();
    if (exp * 1000 <= now) return; // expired already: the server's 401 makes the client ask
    const iat = tokenClaims(token).iat;
    const issuedMs = typeof iat === "number" ? iat * 1000 : now;
    const margin = Math.min(this.deps.marginMs, Math.max(0, (exp * 1000 - issuedMs) / 2));
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, exp * 1000 - margin - now));
    this.timer = setTimeout(() => void this.refresh(exp), delay);
  }

  /** @param {number} exp the expiry of the token being replaced */
  async refresh(exp) {
    let token;
    try {
      token = await this.deps.provider("expiring");
    } catch (err) {
      if (!this.stopped) this.deps.failed(err);
      return;
    }
    if (this.stopped || typeof token !== "string" || token === "") return;
    const next = tokenExpiry(token);
    if (next !== null && next <= exp) {
      // nothing fresher to offer: keep it without a new timer; at expiry the server
      // closes with 4401 and the client asks once more (reason "unauthorized")
      this.token = token;
      return;
    }
    this.set(token);
    this.deps.refreshed(token);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
