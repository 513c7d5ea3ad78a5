// The participant page's message list: stored messages shown once each in seq order,
// notes, read marks, and the sends waiting for their ack. Sending, re-sending and
// retrying are the shared client's (clients/js): this file only shows them.

import { el, formatTime, roleLabel } from "../shared/common.js";

const SEND_ERRORS = {
  ROOM_READ_ONLY: "Not sent: the chat is read-only.",
  MESSAGE_TOO_LONG: "Not sent: the message is too long.",
  MESSAGE_EMPTY: "Not sent: the message is empty.",
  INVALID_PAYLOAD: "Not sent: the message was refused.",
  FORBIDDEN: "Not sent: you may not write here.",
};

export class Timeline {
  /**
   * list, outbox, scroller: elements; me(): the user's id; send(text): the client's
   * send promise (with its clientMessageId); isLive(); onTheirs(): called when another's
   * message is shown.
   */
  constructor({ list, outbox, scroller, me, send, isLive, onTheirs }) {
    Object.assign(this, { list, outbox, scroller, me, sendText: send, isLive, onTheirs });
    this.lastSeq = 0; // the highest seq shown: the resume point
    this.firstSeq = null; // the lowest seq shown, for "earlier messages"
    this.readUpTo = 0; // the highest seq another participant has read
    this.pending = new Map(); // clientMessageId -> {text, node, clientMessageId, state}
  }

  isMine(m) {
    return m.senderId === this.me();
  }

  node(m) {
    const mine = this.isMine(m);
    const node = el(
      "li",
      { className: `msg ${mine ? "mine" : "theirs"}`, dataset: { seq: String(m.seq), sender: m.senderRole } },
      el("div", { className: "meta" },
        el("span", { className: "who", text: mine ? "You" : roleLabel(m.senderRole) }),
        el("time", { datetime: m.timestamp, title: m.timestamp, text: formatTime(m.timestamp) })),
      el("p", { className: "text", text: m.content }),
      mine ? el("div", { className: "state" }) : null,
    );
    if (mine) this.setMineState(node, m.seq);
    return node;
  }

  setMineState(node, seq) {
    const read = seq <= this.readUpTo;
    node.dataset.state = read ? "read" : "sent";
    node.querySelector(".state").textContent = read ? "✓✓ Read" : "✓ Sent";
  }

  /** A stored message (history, newMessage or messageAck): shown once, in seq order. */
  show(m) {
    const pending = m.clientMessageId && this.isMine(m) ? this.pending.get(m.clientMessageId) : undefined;
    if (pending) {
      this.pending.delete(m.clientMessageId);
      pending.node.remove();
    }
    if (m.seq <= this.lastSeq) return; // already shown (a duplicate ack, a replay)
    const nearEnd = this.isNearEnd();
    this.list.append(this.node(m));
    this.lastSeq = m.seq;
    this.firstSeq ??= m.seq;
    if (!this.isMine(m)) this.onTheirs();
    this.scrollToEnd(nearEnd || this.isMine(m));
  }

  /** Older messages (ascending) above the ones shown, keeping the view where it was. */
  prepend(messages) {
    if (!messages.length) return;
    const before = this.scroller.scrollHeight;
    this.list.prepend(...messages.map((m) => this.node(m)));
    this.scroller.scrollTop += this.scroller.scrollHeight - before;
    this.firstSeq = messages[0].seq;
  }

  note(text) {
    const nearEnd = this.isNearEnd();
    this.list.append(el("li", { className: "note", text }));
    this.scrollToEnd(nearEnd);
  }

  readBy(seq) {
    if (seq <= this.readUpTo) return;
    this.readUpTo = seq;
    for (const node of this.list.querySelectorAll(".msg.mine[data-state='sent']")) {
      if (Number(node.dataset.seq) <= seq) this.setMineState(node, Number(node.dataset.seq));
    }
  }

  // ---- the outbox ---------------------------------------------------------------

  add(text) {
    const sending = this.sendText(text);
    const { clientMessageId } = sending;
    const node = el(
      "li",
      { className: "msg mine", dataset: { cmid: clientMessageId } },
      el("div", { className: "meta" }, el("span", { className: "who", text: "You" })),
      el("p", { className: "text", text }),
      el("div", { className: "state" }),
    );
    const pending = { text, node, clientMessageId, state: "pending" };
    this.pending.set(clientMessageId, pending);
    this.outbox.append(node);
    this.setPending(pending, "pending");
    this.scrollToEnd(true);
    sending.then(
      () => this.settled(pending), // shown by the `message` event (or already, a duplicate)
      (err) => this.setPending(pending, "failed", SEND_ERRORS[err.code] ?? "Not sent."),
    );
  }

  settled(pending) {
    if (this.pending.get(pending.clientMessageId) !== pending) return;
    this.pending.delete(pending.clientMessageId);
    pending.node.remove();
  }

  /** The waiting sends say whether they are on their way or waiting for the connection. */
  refresh() {
    for (const p of this.pending.values()) if (p.state === "pending") this.setPending(p, "pending");
  }

  setPending(pending, state, sentence) {
    pending.state = state;
    pending.node.dataset.state = state;
    const label = pending.node.querySelector(".state");
    if (state === "pending") {
      label.textContent = this.isLive() ? "Sending…" : "Waiting for connection…";
      return;
    }
    label.replaceChildren(sentence, " ", el("button", {
      className: "link-button",
      type: "button",
      text: "Dismiss",
      onclick: () => {
        this.pending.delete(pending.clientMessageId);
        pending.node.remove();
      },
    }));
  }

  // ---- scrolling ----------------------------------------------------------------

  isNearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd(force) {
    if (force) this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}
