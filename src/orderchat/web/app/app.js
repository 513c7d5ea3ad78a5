// The participant page (SPEC 7): a customer, vendor or rider chats in one order's room.
// History over REST, then the shared client (clients/js) resumes from the last message
// shown and owns the connection, the sends and their retries (timeline.js shows them).

import {
  claims, explain, fatalSentence, formatTime, orderFromLocation, roleLabel, roomClient,
  setOrderInLocation, statusText, tokenStore, UUID_RE,
} from "../shared/common.js";
import { Timeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const tokens = tokenStore("orderchat.app.token");
const HISTORY_PAGE = 50;
const TYPING_EVERY_MS = 2000; // while typing, say so this often
const TYPING_MIN_GAP_MS = 600; // the server drops a typing within 0.5 s of the previous one
const TYPING_SHOWN_MS = 4000;
const CLOSE_REASONS = { delivered: "This order was delivered", cancelled: "This order was cancelled" };

let room = null; // the open room's state, see newRoom()

function newRoom(orderId, token) {
  const c = claims(token); // display only until `connected` says who we are
  const r = {
    orderId,
    token,
    me: { userId: String(c.sub ?? "").toLowerCase(), role: c.role ?? "" },
    participants: new Map(),
    readOnly: false,
    closedReason: null,
    markedRead: 0,
    lastTypingSent: 0,
    typingAllowedAt: 0,
    typingTimer: null,
    client: roomClient(orderId, token),
    stopped: false, // retrying cannot help (token expired, access revoked)
  };
  r.timeline = new Timeline({
    list: $("messages"),
    outbox: $("outbox"),
    scroller: $("scroller"),
    me: () => r.me.userId,
    send: (text) => r.client.send(text),
    isLive: () => r.client.state === "live",
    onTheirs: () => {
      $("typing").textContent = ""; // the message they were typing arrived
      markRead();
    },
  });
  return r;
}

// ---- sign in / out --------------------------------------------------------------

function showSignin(error) {
  if (room) room.client.close();
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
    const candidate = newRoom(orderId, token);
    let info;
    let page;
    try {
      info = await candidate.client.room();
      page = await candidate.client.history({ limit: HISTORY_PAGE });
    } catch (err) {
      candidate.client.close();
      throw err;
    }
    tokens.set(token);
    setOrderInLocation(orderId);
    showRoom(candidate, info);
    for (const m of page.messages) room.timeline.show(m);
    $("older").hidden = !page.hasMore;
    room.timeline.scrollToEnd(true);
    connect();
  } catch (err) {
    showSignin(explain(err));
  } finally {
    $("join").disabled = false;
  }
}

function showRoom(r, info) {
  room = r;
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

async function loadOlder() {
  const current = room;
  if (!current?.timeline.firstSeq) return;
  $("older").disabled = true;
  try {
    const page = await current.client.history({ beforeSeq: current.timeline.firstSeq, limit: HISTORY_PAGE });
    if (room !== current) return;
    current.timeline.prepend(page.messages);
    $("older").hidden = !page.hasMore;
  } catch (err) {
    $("older").textContent = `${explain(err)} Try again`;
  } finally {
    $("older").disabled = false;
  }
}

// ---- the connection -------------------------------------------------------------

function connect() {
  const current = room;
  const { client } = current;
  const mine = (handler) => (data) => room === current && handler(data);
  client.on("status", mine(setStatus));
  client.on("error", mine((err) => err.fatal && showNotice(fatalSentence(err))));
  client.on("connected", mine(onConnected));
  client.on("message", mine((m) => room.timeline.show(m)));
  client.on("roomClosed", mine((data) => {
    setReadOnly(true, data.reason);
    room.timeline.note(`${CLOSE_REASONS[data.reason] ?? "This chat was closed"} · ${formatTime(data.closedAt)}`);
  }));
  client.on("participantJoined", mine((data) => {
    room.participants.set(data.userId, data.role);
    setParticipants(null);
    room.timeline.note(`${roleLabel(data.role)} joined the chat`);
  }));
  client.on("participantLeft", mine((data) => {
    room.participants.delete(data.userId);
    setParticipants(null);
    room.timeline.note(`${roleLabel(data.role)} left the chat`);
  }));
  client.on("read", mine((data) => data.userId !== room.me.userId && room.timeline.readBy(data.seq)));
  client.on("typing", mine((data) => data.userId !== room.me.userId && showTyping(data.userId)));
  client.start({ lastSeq: current.timeline.lastSeq });
}

function setStatus(status) {
  const pill = $("status");
  pill.dataset.status = status.state;
  pill.textContent = statusText(status);
  updateComposer();
}

function showNotice(sentence) {
  room.stopped = true;
  $("notice").hidden = false;
  $("notice").textContent = sentence;
  updateComposer();
}

function onConnected(data) {
  if (data.you?.userId) room.me = { userId: data.you.userId, role: data.you.role };
  setParticipants(data.participants ?? []);
  setReadOnly(data.readOnly, data.closedReason);
  markRead(); // the history shown before the connection was up
}

// ---- room state, people, reading, typing ----------------------------------------

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
  if (room.readOnly) $("typing").textContent = "";
  updateComposer();
}

function updateComposer() {
  if (!room) return;
  const blocked = room.readOnly || room.stopped;
  $("composer").hidden = room.readOnly;
  $("composer-input").disabled = blocked;
  $("send").disabled = blocked;
  room.timeline.refresh();
}

function markRead() {
  const seq = room.timeline.lastSeq;
  if (room.readOnly || document.visibilityState !== "visible" || seq <= room.markedRead) return;
  if (room.client.markRead(seq)) room.markedRead = seq;
}

function showTyping(userId) {
  $("typing").textContent = `${roleLabel(room.participants.get(userId))} is typing…`;
  clearTimeout(room.typingTimer);
  room.typingTimer = setTimeout(() => {
    $("typing").textContent = "";
  }, TYPING_SHOWN_MS);
}

function sendTyping() {
  const now = Date.now();
  if (room.readOnly || now < room.typingAllowedAt) return;
  if (room.client.typing()) {
    room.lastTypingSent = now;
    room.typingAllowedAt = now + TYPING_EVERY_MS;
  }
}

function send(text) {
  // the next keystroke starts a new message: say so as soon as the server will pass it on
  room.typingAllowedAt = room.lastTypingSent + TYPING_MIN_GAP_MS;
  room.timeline.add(text);
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
