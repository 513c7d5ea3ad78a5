// In-order delivery (SPEC 5.4 on the client's side): every message once, in seq order,
// with no gap. A message past a hole is held while the hole is fetched over REST.

/** @typedef {import("../types/index.js").Message} Message */

export class Sequencer {
  /**
   * @param {object} deps
   * @param {(m: Message) => void} deps.deliver
   * @param {(afterSeq: number, count: number) => Promise<Message[]>} deps.fetch the stored messages after afterSeq
   * @param {(err: unknown) => void} deps.failed the hole could not be filled (the client then resumes with lastSeq)
   */
  constructor(deps) {
    this.deps = deps;
    /** the highest seq delivered */
    this.lastSeq = 0;
    /** @type {Map<number, Message>} messages past a hole */
    this.held = new Map();
    this.filling = false;
    this.generation = 0;
  }

  /** @param {number} lastSeq the new starting point */
  reset(lastSeq) {
    this.lastSeq = lastSeq;
    this.restart();
  }

  /** A new connection: what was held will be replayed from lastSeq; a fill under way is dropped. */
  restart() {
    this.held.clear();
    this.filling = false;
    this.generation += 1;
  }

  /** @param {Message} m */
  push(m) {
    if (m.seq <= this.lastSeq || this.held.has(m.seq)) return; // a duplicate or a replay
    if (!this.filling && m.seq === this.lastSeq + 1) {
      this.take(m);
      this.drain();
      return;
    }
    this.held.set(m.seq, m);
    if (!this.filling) void this.fill();
  }

  /** @param {Message} m */
  take(m) {
    this.lastSeq = m.seq;
    this.deps.deliver(m);
  }

  drain() {
    for (let next = this.held.get(this.lastSeq + 1); next; next = this.held.get(this.lastSeq + 1)) {
      this.held.delete(next.seq);
      this.take(next);
    }
  }

  async fill() {
    const generation = this.generation;
    this.filling = true;
    try {
      while (this.held.size > 0) {
        const before = this.lastSeq;
        const firstHeld = Math.min(...this.held.keys());
        const messages = await this.deps.fetch(this.lastSeq, firstHeld - 1 - this.lastSeq);
        if (generation !== this.generation) return;
        for (const m of messages) if (m.seq === this.lastSeq + 1) this.take(m);
        this.drain();
        if (this.lastSeq === before) throw new Error(`messages after seq ${before} are missing`);
      }
    } catch (err) {
      if (generation === this.generation) this.deps.failed(err);
    } finally {
      if (generation === this.generation) this.filling = false;
    }
  }
}
