// Small pure helpers: ids, JWT claims (decoded for timing only; the server verifies),
// and the reconnection backoff.

/**
 * A random UUID v4. crypto.randomUUID needs a secure context and React Native has no
 * crypto without a polyfill: fall back to getRandomValues, then to Math.random (a
 * clientMessageId only has to be unique per sender and room, not secret).
 * @returns {string}
 */
export function newClientMessageId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === "function") c.getRandomValues(b);
  else for (let i = 0; i < 16; i += 1) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The claims of a JWT, decoded but not verified; {} when it is not one.
 * @param {string} token
 * @returns {Record<string, unknown>}
 */
export function tokenClaims(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=");
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : {};
  } catch {
    return {};
  }
}

/**
 * A JWT's `exp` (seconds), or null.
 * @param {string} token
 * @returns {number | null}
 */
export function tokenExpiry(token) {
  const exp = tokenClaims(token).exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp : null;
}

/**
 * Backoff with "equal jitter": between half and all of min(maxMs, baseMs * 2^attempt),
 * so clients that lost one server do not all come back at the same instant.
 * @param {number} attempt
 * @param {{baseMs?: number, maxMs?: number}} [options]
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 15000;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
