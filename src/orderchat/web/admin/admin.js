// The admin console (SPEC 7): find rooms, read a transcript, follow an open room live.
// Read-only: it only GETs the public API and listens on the WebSocket.

import {
  api, el, explain, fatalSentence, formatDateTime, orderFromLocation, roleLabel, roomClient,
  setOrderInLocation, statusText, tokenStore, UUID_RE,
} from "../shared/common.js";

const $ = (id) => document.getElementById(id);
const tokens = tokenStore("orderchat.admin.token");
const PAGE = 200;
const RESULTS_PAGE = 25;

let token = "";
let search = null; // {state, userId, cursor}
let open = null; // the room shown: {orderId, lastSeq, count, participants, client}

// ---- sign in / out --------------------------------------------------------------

function showSignin(error) {
  closeRoom();
  $("console").hidden = true;
  $("leave").hidden = true;
  $("signin").hidden = false;
  $("token").value = $("token").value || tokens.get(); // keep what was typed
  $("signin-error").hidden = !error;
  $("signin-error").textContent = error ?? "";
}

async function signIn(candidate) {
  $("signin-button").disabled = true;
  try {
    await api(candidate, `/v1/admin/rooms?limit=1`);
  } catch (err) {
    showSignin(err.status === 403 ? "This token is not an admin token." : explain(err));
    return;
  } finally {
    $("signin-button").disabled = false;
  }
  token = candidate;
  tokens.set(token);
  $("signin").hidden = true;
  $("console").hidden = false;
  $("leave").hidden = false;
  const deepLink = orderFromLocation();
  if (deepLink) {
    $("search-q").value = deepLink;
    await runSearch();
    await openRoom(deepLink);
  } else {
    await runSearch();
  }
}

// ---- search ---------------------------------------------------------------------

function searchError(sentence) {
  $("search-error").hidden = !sentence;
  $("search-error").textContent = sentence ?? "";
}

async function runSearch() {
  searchError(null);
  const q = $("search-q").value.trim().toLowerCase();
  const state = $("search-state").value;
  if (q && !UUID_RE.test(q)) {
    searchError("Enter an order id or a participant id (a UUID), or leave it empty.");
    return;
  }
  $("results").replaceChildren();
  $("more").hidden = true;
  $("search-button").disabled = true;
  try {
    search = { state, userId: q, cursor: null };
    let byOrder = null;
    if (q) {
      // the same UUID may be an order id or a participant's id: ask both
      byOrder = await api(token, `/v1/rooms/${q}`).catch((err) => {
        if (err.status === 404) return null;
        throw err;
      });
    }
    const page = await fetchRooms();
    const rooms = [];
    if (byOrder && (!state || (state === "readonly") === byOrder.readOnly)) rooms.push(byOrder);
    for (const r of page) if (!rooms.some((x) => x.orderId === r.orderId)) rooms.push(r);
    showResults(rooms, q);
  } catch (err) {
    if (err.status === 401) showSignin(explain(err));
    else searchError(explain(err));
  } finally {
    $("search-button").disabled = false;
  }
}

async function fetchRooms() {
  const query = new URLSearchParams({ limit: String(RESULTS_PAGE) });
  if (search.state) query.set("state", search.state);
  if (search.userId) query.set("userId", search.userId);
  if (search.cursor) query.set("cursor", search.cursor);
  const page = await api(token, `/v1/admin/rooms?${query}`);
  search.cursor = page.nextCursor ?? null;
  $("more").hidden = !search.cursor;
  return page.rooms;
}

async function moreResults() {
  $("more").disabled = true;
  try {
    const seen = new Set([...$("results").children].map((li) => li.dataset.orderId));
    showResults((await fetchRooms()).filter((r) => !seen.has(r.orderId)), search.userId, true);
  } catch (err) {
    searchError(explain(err));
  } finally {
    $("more").disabled = false;
  }
}

function showResults(rooms, q, append = false) {
  const items = rooms.map((r) => {
    const why = r.orderId === q ? "order id" : q ? "participant" : null;
    const roles = r.participants.map((p) => roleLabel(p.role)).join(", ");
    return el(
      "li",
      { dataset: { orderId: r.orderId } },
      el(
        "button",
        { className: "result", type: "button", onclick: () => openRoom(r.orderId) },
        el("span", { className: "line" },
          el("span", { className: "mono", text: r.orderId }),
          el("span", { className: "badge", dataset: { state: r.readOnly ? "readonly" : "open" }, text: stateText(r) })),
        el("span", { className: "sub", text: [
          `${r.lastSeq} message${r.lastSeq === 1 ? "" : "s"}`, roles, `created ${formatDateTime(r.createdAt)}`,
          why ? `matched by ${why}` : null,
        ].filter(Boolean).join(" · ") }),
      ),
    );
  });
  if (append) $("results").append(...items);
  else $("results").replaceChildren(...items);
  $("results-empty").hidden = $("results").children.length > 0;
  markCurrent();
}

function markCurrent() {
  for (const li of $("results").children) {
    li.firstChild.setAttribute("aria-current", String(li.dataset.orderId === open?.orderId));
  }
}

function stateText(room) {
  return room.readOnly ? `Read-only${room.closedReason ? ` · ${room.closedReason}` : ""}` : "Open";
}

// ---- one room's transcript ------------------------------------------------------

function closeRoom() {
  if (open?.client) open.client.close();
  open = null;
}

async function openRoom(orderId) {
  closeRoom();
  const current = { orderId, lastSeq: 0, count: 0, participants: [], client: null };
  open = current;
  setOrderInLocation(orderId);
  markCurrent();
  try {
    const info = await api(token, `/v1/rooms/${orderId}`);
    const messages = [];
    for (;;) {
      const page = await api(token, `/v1/rooms/${orderId}/messages?afterSeq=${current.lastSeq}&limit=${PAGE}`);
      messages.push(...page.messages);
      if (page.messages.length) current.lastSeq = page.messages[page.messages.length - 1].seq;
      if (!page.hasMore || !page.messages.length) break;
    }
    if (open !== current) return;
    showRoom(info);
    $("t-lines").replaceChildren(...messages.map(lineNode));
    current.count = messages.length;
    $("t-count").textContent = String(current.count);
    if (!info.readOnly) followLive(current);
    if (window.matchMedia("(max-width: 759px)").matches) $("transcript").scrollIntoView({ behavior: "smooth" });
  } catch (err) {
    if (open !== current) return;
    $("transcript-body").hidden = true;
    $("transcript-empty").hidden = false;
    $("transcript-empty").textContent = explain(err);
  }
}

function showRoom(info) {
  $("transcript-empty").hidden = true;
  $("transcript-body").hidden = false;
  $("t-order").textContent = info.orderId;
  $("t-created").textContent = formatDateTime(info.createdAt);
  open.participants = info.participants;
  showPeople();
  setState(info.readOnly, info.closedReason, info.closedAt);
  $("t-live").hidden = true;
}

function setState(readOnly, reason, closedAt) {
  $("t-state").textContent = stateText({ readOnly, closedReason: reason });
  $("t-state").dataset.state = readOnly ? "readonly" : "open";
  $("t-closed").textContent = readOnly ? formatDateTime(closedAt) : "— (open)";
}

function showPeople() {
  $("t-people").replaceChildren(...open.participants.map((p) => el(
    "li",
    { dataset: { role: p.role } },
    el("span", { className: "role", text: roleLabel(p.role) }),
    el("span", { className: "mono", text: p.userId }),
  )));
}

function lineNode(m) {
  return el(
    "li",
    { className: "line-item", dataset: { seq: String(m.seq) } },
    el("span", { className: "seq", text: `#${m.seq}` }),
    el("div", { className: "head" },
      el("span", { className: "role", text: roleLabel(m.senderRole) }),
      el("span", { className: "mono", title: m.senderId, text: m.senderId.slice(0, 8) }),
      el("time", { datetime: m.timestamp, title: m.timestamp, text: formatDateTime(m.timestamp) })),
    el("p", { className: "text", text: m.content }),
  );
}

function followLive(current) {
  $("t-live").hidden = false;
  const client = roomClient(current.orderId, token);
  current.client = client;
  const mine = (handler) => (data) => open === current && handler(data);
  client.on("status", mine((status) => {
    if (status.state === "stopped" && $("t-live").dataset.status === "failed") return;
    $("t-live").dataset.status = status.state;
    $("t-live").textContent = statusText(status);
  }));
  client.on("error", mine((err) => {
    if (!err.fatal) return;
    $("t-live").dataset.status = "failed";
    $("t-live").textContent = fatalSentence(err);
  }));
  client.on("message", mine((m) => {
    current.lastSeq = m.seq;
    current.count += 1;
    $("t-lines").append(lineNode(m));
    $("t-count").textContent = String(current.count);
  }));
  client.on("connected", mine((data) => {
    current.participants = data.participants ?? current.participants;
    showPeople();
    if (data.readOnly) setState(true, data.closedReason, null);
  }));
  client.on("participantJoined", mine((data) => {
    current.participants = [...current.participants.filter((p) => p.userId !== data.userId), data];
    showPeople();
  }));
  client.on("participantLeft", mine((data) => {
    current.participants = current.participants.filter((p) => p.userId !== data.userId);
    showPeople();
  }));
  client.on("roomClosed", mine((data) => {
    setState(true, data.reason, data.closedAt);
    client.close();
    $("t-live").hidden = true;
  }));
  client.start({ lastSeq: current.lastSeq });
}

// ---- wiring ---------------------------------------------------------------------

$("signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  signIn($("token").value.trim());
});
$("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  runSearch();
});
$("more").addEventListener("click", moreResults);
$("leave").addEventListener("click", () => {
  tokens.clear();
  token = "";
  $("token").value = "";
  setOrderInLocation("");
  showSignin();
});

if (tokens.get()) signIn(tokens.get());
else showSignin();
