// A minimal typed event emitter (no dependency: the same code runs in browsers, React
// Native and Node, none of which share an EventEmitter).

/**
 * @template {Record<string, any>} Events
 */
export class Emitter {
  constructor() {
    /** @type {Map<keyof Events, Set<(data: any) => void>>} */
    this.listeners = new Map();
  }

  /**
   * @template {keyof Events} K
   * @param {K} event
   * @param {(data: Events[K]) => void} listener
   * @returns {() => void} removes the listener
   */
  on(event, listener) {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  /**
   * @template {keyof Events} K
   * @param {K} event
   * @param {(data: Events[K]) => void} listener
   */
  off(event, listener) {
    this.listeners.get(event)?.delete(listener);
  }

  /**
   * Calls each listener; one that throws does not stop the others nor the client (its
   * error is rethrown on its own, where the platform reports uncaught errors).
   * @template {keyof Events} K
   * @param {K} event
   * @param {Events[K]} data
   */
  emit(event, data) {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(data);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }
}
