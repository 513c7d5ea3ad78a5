// The participant page (SPEC 7): a customer, vendor or rider chats in one order's room.
// History over REST, then the WebSocket resumed from the last message shown; sends are
// pending until acked and re-sent with the same clientMessageId after a reconnection.

import {
  RoomSocket, api, claims, el, explain, formatTime, newId, orderFromLocation, roleLabel,
  setOrderInLocation, statusText, tokenStore, UUID_RE,
} from "../shared/common.js";

const $ = (id) => document.getElementById(id);
const tokens = tokenStore("orderchat.app.token");
const HISTORY_PAGE = 50;
const RETRY_MS = 1000;
const TYPING_EVERY_MS = 2000; // while typing, say so this often
const TYPING_MIN_GAP_MS = 600; // the server drops a typing within 0.5 s of the previous one
const TYPING_SHOWN_MS = 4000;
const CLOSE_REASONS = { delivered: "This order was delivered", cancelled: "This order was cancelled" };
const SEND_ERRORS = {
  ROOM_READ_ONLY: "Not sent: the chat is read-only.",
  MESSAGE_TOO_LONG: "Not sent: the message is too long.",
  MESSAGE_EMPTY: "Not sent: the message is empty.",
  INVALID_PAYLOAD: "Not sent: the message was refused.",
  FORBIDDEN: "Not sent: you may not write here.",
};

let room = null; // the open room's state, see join()

function resetRoom(orderId, token) {
  const c = claims(token);
  return {
    orderId,
    token,
    me: { userId: String(c.sub ?? "").toLowerCase(), role: c.role ?? "" },
    participants: new Map(),
    readOnly: false,
    closedReason: null,
    lastSeq: 0, // the highest seq shown: the resume point
    firstSeq: null,
    pending: new Map(), // clientMessageId -> {text, node, state}
    readUpTo: 0, // the highest seq another participant has read
    markedRead: 0,
    lastTypingSent: 0,
    typingAllowedAt: 0,
    typingTimer: null,
    socket: null,
    stopped: false, // retrying cannot help (token expired, access revoked)
  };
}

// ---- sign in / out --------------------------------------------------------------

function showSignin(error) {
  if (room?.socket) room.socket.stop();
  room = null;
  $("chat").hidden = true;
  $("signin").hidden = false;
  $("status").hidden = true;
  $("leave").hidden = true;
  $("token").value = $("token").value || tokens.get(); // keep what was typed
  $("order-id").value = $("order-id").value || orderFromLocation();
  $("signin-error").hidden = !error;
  $("signin-error").textContent = error ?? "";
}

async function join(token, orderId) {
  $("join").disabled = true;
  try {
    const info = await api(token, `/v1/rooms/${orderId}`);
    const page = await api(token, `/v1/rooms/${orderId}/messages?limit=${HISTORY_PAGE}`);
    tokens.set(token);
    setOrderInLocation(orderId);
    room = resetRoom(orderId, token);
    showRoom(info);
    for (const m of page.messages) showMessage(m);
    room.firstSeq = page.messages.length ? page.messages[0].seq : null;
    $("older").hidden = !page.hasMore;
    scrollToEnd(true);
    connect();
  } catch (err) {
    showSignin(explain(err));
  } finally {
    $("join").disabled = false;
  }
}

function showRoom(info) {
  $("signin").hidden = true;
  $("chat").hidden = false;
  $("leave").hidden = false;
  $("status").hidden = false;
  $("messages").replaceChildren();
  $("outbox").replaceChildren();
  $("typing").textContent = "";
  $("notice").hidden = true;
  $("room-order").textContent = room.orderId;
  $("room-order").title = room.orderId;
  setParticipants(info.participants);
  setReadOnly(info.readOnly, info.closedReason);
}

// ---- the connection -------------------------------------------------------------

function connect() {
  const current = room;
  current.socket = new RoomSocket({
    orderId: current.orderId,
    token: current.token,
    lastSeq: () => current.lastSeq,
    onFrame: (event, data) => room === current && onFrame(event, data),
    onStatus: (status, detail) => room === current && setStatus(status, detail),
    onFatal: (sentence) => room === current && showNotice(sentence),
  });
  current.socket.start();
}

function setStatus(status, detail) {
  const pill = $("status");
  pill.dataset.status = status;
  pill.textContent = statusText(status, detail);
  updateComposer();
}

function showNotice(sentence) {
  room.stopped = true;
  $("notice").hidden = false;
  $("notice").textContent = sentence;
  for (const p of room.pending.values()) if (p.state === "pending") setPendingState(p, "failed", "Not sent.");
  updateComposer();
}

function onFrame(event, data) {
  switch (event) {
    case "connected":
      if (data.you?.userId) room.me = { userId: data.you.userId, role: data.you.role };
      setParticipants(data.participants ?? []);
      setReadOnly(data.readOnly, data.closedReason);
      resendPending();
      markRead(); // the history shown before the connection was up
      break;
    case "newMessage":
    case "messageAck":
      showMessage(data);
      break;
    case "error":
      onError(data);
      break;
    case "roomClosed":
      setReadOnly(true, data.reason);
      addNote(`${CLOSE_REASONS[data.reason] ?? "This chat was closed"} · ${formatTime(data.closedAt)}`);
      break;
    case "participantJoined":
      room.participants.set(data.userId, data.role);
      setParticipants(null);
      addNote(`${roleLabel(data.role)} joined the chat`);
      break;
    case "participantLeft":
      room.participants.delete(data.userId);
      setParticipants(null);
      addNote(`${roleLabel(data.role)} left the chat`);
      break;
    case "read":
      if (data.userId !== room.me.userId && data.seq > room.readUpTo) {
        room.readUpTo = data.seq;
        refreshReadMarks();
      }
      break;
    case "typing":
      if (data.userId !== room.me.userId) showTyping(data.userId);
      break;
    default:
      break;
  }
}

// ---- messages -------------------------------------------------------------------

function isMine(m) {
  return m.senderId === room.me.userId;
}

function messageNode(m) {
  const mine = isMine(m);
  const who = mine ? "You" : roleLabel(m.senderRole);
  return el(
    "li",
    { className: `msg ${mine ? "mine" : "theirs"}`, dataset: { seq: String(m.seq), sender: m.senderRole } },
    el("div", { className: "meta" }, el("span", { className: "who", text: who }), el("time", {
      datetime: m.timestamp, title: m.timestamp, text: formatTime(m.timestamp),
    })),
    el("p", { className: "text", text: m.content }),
    mine ? el("div", { className: "state" }) : null,
  );
}

function setMineState(node, seq) {
  const read = seq <= room.readUpTo;
  node.dataset.state = read ? "read" : "sent";
  node.querySelector(".state").textContent = read ? "✓✓ Read" : "✓ Sent";
}

/** A stored message (history, newMessage or messageAck): shown once, in seq order. */
function showMessage(m) {
  const pending = m.clientMessageId && isMine(m) ? room.pending.get(m.clientMessageId) : undefined;
  if (pending) {
    room.pending.delete(m.clientMessageId);
    pending.node.remove();
  }
  if (m.seq <= room.lastSeq) return; // already shown (a duplicate ack, a replay)
  const nearEnd = isNearEnd();
  const node = messageNode(m);
  $("messages").append(node);
  room.lastSeq = m.seq;
  if (isMine(m)) setMineState(node, m.seq);
  else {
    $("typing").textContent = ""; // the message they were typing arrived
    markRead();
  }
  scrollToEnd(nearEnd || isMine(m));
}

async function loadOlder() {
  if (!room?.firstSeq) return;
  const current = room;
  $("older").disabled = true;
  try {
    const page = await api(current.token, `/v1/rooms/${current.orderId}/messages?beforeSeq=${current.firstSeq}&limit=${HISTORY_PAGE}`);
    if (room !== current) return;
    const scroller = $("scroller");
    const before = scroller.scrollHeight;
    const nodes = page.messages.map(messageNode);
    page.messages.forEach((m, i) => isMine(m) && setMineState(nodes[i], m.seq));
    $("messages").prepend(...nodes);
    scroller.scrollTop += scroller.scrollHeight - before;
    if (page.messages.length) current.firstSeq = page.messages[0].seq;
    $("older").hidden = !page.hasMore;
  } catch (err) {
    $("older").textContent = `${explain(err)} Try again`;
  } finally {
    $("older").disabled = false;
  }
}

function addNote(text) {
  $("messages").append(el("li", { className: "note", text }));
  scrollToEnd(isNearEnd());
}

function refreshReadMarks() {
  for (const node of $("messages").querySelectorAll(".msg.mine[data-state='sent']")) {
    if (Number(node.dataset.seq) <= room.readUpTo) setMineState(node, Number(node.dataset.seq));
  }
}

function markRead() {
  if (room.readOnly || document.visibilityState !== "visible" || room.lastSeq <= room.markedRead) return;
  if (room.socket?.send("markRead", { seq: room.lastSeq })) room.markedRead = room.lastSeq;
}

// ---- sending --------------------------------------------------------------------

function send(text) {
  // the next keystroke starts a new message: say so as soon as the server will pass it on
  room.typingAllowedAt = room.lastTypingSent + TYPING_MIN_GAP_MS;
  const clientMessageId = newId();
  const node = el(
    "li",
    { className: "msg mine", dataset: { cmid: clientMessageId } },
    el("div", { className: "meta" }, el("span", { className: "who", text: "You" })),
    el("p", { className: "text", text }),
    el("div", { className: "state" }),
  );
  const pending = { text, node, clientMessageId, state: "pending" };
  room.pending.set(clientMessageId, pending);
  $("outbox").append(node);
  setPendingState(pending, "pending");
  transmit(pending);
  scrollToEnd(true);
}

function transmit(pending) {
  if (pending.state !== "pending" || room.pending.get(pending.clientMessageId) !== pending) return;
  room.socket?.send("sendMessage", { message: pending.text, clientMessageId: pending.clientMessageId });
}

function resendPending() {
  for (const p of room.pending.values()) transmit(p);
}

function setPendingState(pending, state, sentence) {
  pending.state = state;
  pending.node.dataset.state = state;
  const label = pending.node.querySelector(".state");
  if (state === "pending") {
    label.textContent = room.socket?.isLive ? "Sending…" : "Waiting for connection…";
    return;
  }
  label.replaceChildren(sentence, " ", el("button", {
    className: "link-button", type: "button", text: "Dismiss",
    onclick: () => {
      room.pending.delete(pending.clientMessageId);
      pending.node.remove();
    },
  }));
}

function onError(data) {
  const pending = data.clientMessageId ? room.pending.get(data.clientMessageId) : undefined;
  if (!pending) return; // a refused typing/markRead: nothing to show
  if (data.code === "UNAVAILABLE" || data.code === "RATE_LIMITED") {
    // retrying with the same clientMessageId is always safe
    setTimeout(() => room && transmit(pending), RETRY_MS);
    return;
  }
  setPendingState(pending, "failed", SEND_ERRORS[data.code] ?? "Not sent.");
}

// ---- room state, people, typing -------------------------------------------------

function setParticipants(list) {
  if (list) room.participants = new Map(list.map((p) => [p.userId, p.role]));
  const others = [...room.participants]
    .filter(([userId]) => userId !== room.me.userId)
    .map(([, role]) => roleLabel(role));
  const you = room.me.role ? `You (${room.me.role})` : "You";
  $("room-people").textContent = [you, ...others].join(" · ");
}

function setReadOnly(readOnly, reason) {
  room.readOnly = Boolean(readOnly);
  room.closedReason = reason ?? null;
  const badge = $("room-state");
  badge.textContent = room.readOnly ? "Read-only" : "Open";
  badge.dataset.state = room.readOnly ? "readonly" : "open";
  const banner = $("readonly-banner");
  banner.hidden = !room.readOnly;
  banner.textContent = room.readOnly
    ? `${CLOSE_REASONS[room.closedReason] ?? "This chat is closed"}: the chat is read-only. You can still read it.`
    : "";
  if (room.readOnly) {
    $("typing").textContent = "";
    for (const p of room.pending.values()) if (p.state === "pending") setPendingState(p, "failed", SEND_ERRORS.ROOM_READ_ONLY);
  }
  updateComposer();
}

function updateComposer() {
  if (!room) return;
  const blocked = room.readOnly || room.stopped;
  $("composer").hidden = room.readOnly;
  $("composer-input").disabled = blocked;
  $("send").disabled = blocked;
  for (const p of room.pending.values()) if (p.state === "pending") setPendingState(p, "pending");
}

function showTyping(userId) {
  const role = room.participants.get(userId);
  $("typing").textContent = `${roleLabel(role)} is typing…`;
  clearTimeout(room.typingTimer);
  room.typingTimer = setTimeout(() => {
    $("typing").textContent = "";
  }, TYPING_SHOWN_MS);
}

function sendTyping() {
  const now = Date.now();
  if (room.readOnly || now < room.typingAllowedAt) return;
  if (room.socket?.send("typing", {})) {
    room.lastTypingSent = now;
    room.typingAllowedAt = now + TYPING_EVERY_MS;
  }
}

// ---- scrolling ------------------------------------------------------------------

function isNearEnd() {
  const s = $("scroller");
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToEnd(force) {
  if (force) $("scroller").scrollTop = $("scroller").scrollHeight;
}

// ---- wiring ---------------------------------------------------------------------

$("signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = $("token").value.trim();
  const orderId = $("order-id").value.trim().toLowerCase();
  if (!UUID_RE.test(orderId)) {
    showSignin("The order id is a UUID, like 3f2b…-…");
    return;
  }
  join(token, orderId);
});

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("composer-input");
  const text = input.value;
  if (!room || room.readOnly || !text.trim()) return;
  input.value = "";
  send(text);
  input.focus();
});

$("composer-input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $("composer").requestSubmit();
  }
});

$("composer-input").addEventListener("input", () => room && sendTyping());
$("older").addEventListener("click", loadOlder);
document.addEventListener("visibilitychange", () => room && markRead());

$("leave").addEventListener("click", () => {
  tokens.clear();
  setOrderInLocation("");
  $("token").value = "";
  $("order-id").value = "";
  showSignin();
});

const savedToken = tokens.get();
const savedOrder = orderFromLocation();
if (savedToken && savedOrder) join(savedToken, savedOrder);
else showSignin();
