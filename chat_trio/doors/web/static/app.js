// chat-trio's page: one WebSocket to /ws speaking the JSON dialect of docs/protocol.md.
//
// The server sends arrays of events; the page keeps one conversation per room, one per
// private peer and one for the server's answers, and draws the current one. Every piece
// of text from other people is put in the page with textContent (never as HTML), so a
// line like <img onerror=...> shows as it was typed. Nothing here is needed to chat: the
// rules are all on the server; the page checks only what it can say better before
// sending (a line too long keeps its text in the box).
//
// The connection goes through named phases (PHASES below); `setPhase` is the one place
// that changes it, and draws what each phase lets the user do.
"use strict";

const HISTORY_PAGE = 50;      // lines asked for by "Load earlier messages"
const LINES_KEPT = 1000;      // per conversation; older lines are dropped from the page
const BACKOFF_MAX = 30;       // seconds between reconnection attempts, at most
const TYPED_KEPT = 100;       // lines the Up key goes back through
const AT_BOTTOM = 8;          // pixels from the bottom that still count as "at the bottom"
const MARK_DELAY = 5000;      // ms: lines read as they arrive are marked read at most this often
                              // (each mark is a message flood control counts: the default
                              // rate is 2 a second, and the typist's lines need them); showing
                              // a conversation, the tab coming back and scrolling to the
                              // bottom mark at once
const SERVER = "*server";     // the key of the server's conversation (no name has a "*")
const ASKED_KEY = "chat-trio.notifications-asked";  // localStorage: asked once, ever
const RETRY = new Set(["server-full", "too-many-from-address", "connecting-too-fast"]);

// What the page is doing. The login form takes input only while "naming", or "closed"
// (submitting it then connects again); the chat only while "chatting".
const PHASES = {
  connecting: "the socket is opening, or open and not asked for a name yet",
  naming: "the server asked for a name: the form is ready",
  entering: "a name (and password) was sent: waiting for the welcome or a refusal",
  chatting: "welcomed: in the chat",
  waiting: "the connection dropped: connecting again after a pause",
  closed: "ended, and not coming back by itself (quit, kick, ban, too many names)",
};

const $ = (id) => document.getElementById(id);

const state = {
  phase: "connecting",
  socket: null,
  me: "",                     // our name, once the server welcomed us
  identity: null,             // {name, password, register}: who we are, for reconnecting
  pending: null,              // an identity to send as soon as the server asks for a name
  limits: { name: 32, line: 2048, password: [8, 128] },   // the greeting says the real ones
  conversations: new Map(),   // key ("#room" lower-cased, "@peer", SERVER) -> conversation
  current: "",                // key of the conversation shown
  rooms: [],                  // the rooms we are in, in order (rejoined after a reconnect)
  ending: "",                 // why the server ended the connection, if it said
  refusal: "",                // the last refusal (what a goodbye that follows it is about)
  reconnect: true,            // false after /quit, a kick, a ban, too many names
  banned: false,              // our address is banned: the form stays shut
  loggingOut: false,          // the user pressed "Log out"
  attempts: 0,                // reconnections since the last welcome (for the backoff)
  follow: false,              // a command was typed: show where its answer lands
  typed: [],                  // lines sent, oldest first (Up and Down go through them)
  typedAt: 0,                 // where Up/Down are in `typed` (its length: the draft)
  draft: "",                  // what was in the box before Up was pressed
  lastSent: "",               // the last line sent (put back if the server refuses it)
  registering: false,         // "Register this name" was ticked: its answer is awaited
  completion: null,           // Tab completion in progress: {start, end, names, index}
  account: false,             // logged in to an account: its read markers are shared
  markTimer: 0,               // a mark of what arrives while we read is on its way
};

// -- phases ----------------------------------------------------------------------------

function setPhase(phase) {
  if (!(phase in PHASES)) throw new Error(`no phase ${phase}`);
  state.phase = phase;
  const formReady = phase === "naming" || (phase === "closed" && !state.banned);
  $("login-fields").disabled = !formReady;
  $("logout").hidden = phase !== "chatting";
  $("again").hidden = !(phase === "closed" && !$("chat").hidden);
}

// -- conversations ---------------------------------------------------------------------

function key(name) {
  if (name === SERVER) return SERVER;
  return name.startsWith("#") ? name.toLowerCase() : "@" + name.toLowerCase();
}

// The rooms we are in where `name` is a member: news of a person (a rename, leaving the
// chat, away, a login) comes once, through one of them (`room`), and applies to all. A
// member list we hold in part may not name them: then the room it came through.
function roomsWith(name, room) {
  const rooms = [...state.conversations.values()].filter((c) => c.room && c.members.has(name));
  return rooms.length || !room ? rooms : [conversation(room)];
}

function conversation(name) {
  const k = key(name);
  let c = state.conversations.get(k);
  if (!c) {
    c = { key: k, title: k === SERVER ? "Server" : name, room: name.startsWith("#"),
          server: k === SERVER, lines: [], unread: 0, marker: null, members: new Set(),
          admins: new Set(), away: new Set(), operators: new Set(), voiced: new Set(),
          unlisted: 0, topic: "", oldest: null, oldestId: "", more: false,
          modes: new Set(), roomKey: "", limit: 0, readUpTo: null, sentUpTo: null };
    state.conversations.set(k, c);
    drawConversations();
  }
  return c;
}

function server() {
  return conversation(SERVER);
}

// Is the reader looking at this conversation now (shown, and the tab visible)?
function seen(c) {
  return c.key === state.current && document.visibilityState === "visible";
}

function add(c, line, { prepend = false } = {}) {
  if (prepend) {
    c.lines.unshift(...line);
  } else {
    c.lines.push(line);
    if (!seen(c) && line.kind !== "notice" && !line.history) {
      if (c.unread === 0) c.marker = line;   // the "unread" divider goes above it
      c.unread += 1;
      drawTitle();
    } else if (seen(c) && line.kind !== "notice") {
      markSoon();                          // read as it arrives: read on our other devices
    }
  }
  if (c.lines.length > LINES_KEPT) c.lines.splice(0, c.lines.length - LINES_KEPT);
  if (c.key !== state.current) {
    if (!prepend) drawConversations();     // its unread count changed
  } else if (prepend) {
    drawEarlier(line.length);
  } else {
    appendLine(line);
  }
}

function notice(text, c = currentConversation() || server()) {
  add(c, { kind: "notice", text, time: now() });
}

// An answer from the server: in `c` (the server's conversation if none), shown at once
// if it answers a command the user typed.
function reply(line, c = server()) {
  add(c, typeof line === "string" ? { kind: "notice", text: line, time: now() } : line);
  if (state.follow) {
    state.follow = false;
    if (c.key !== state.current) show(c.key);
  }
}

function currentConversation() {
  return state.conversations.get(state.current) || null;
}

function show(k) {
  const c = state.conversations.get(k);
  if (!c) return;
  const left = currentConversation();
  if (left && left !== c) markRead(left);   // what arrived there since the last mark
  if (left && left !== c && left.unread === 0) left.marker = null;   // read: no divider
  state.current = k;
  c.unread = 0;
  markRead(c);
  drawConversations();
  drawLog();
  drawMembers();
  drawTitle();
  $("title").textContent = c.server ? "Server" : c.title;
  $("topic").textContent = c.server ? "Answers to your commands, and news from the server" : c.topic;
  drawModes();
  $("leave").textContent = c.room ? "Leave" : "Close";
  $("leave").hidden = c.server;
  drawLeave();
  $("earlier").hidden = !c.more;
}

// Read markers (docs/protocol.md, "Read markers"): where our account has read each
// conversation up to, shared by all its connections. A marker from the server (another
// device, or an IRC client of the account, read further) sets the unread lines: those
// of other people after it.
function recount(c) {
  if (c.readUpTo === null || seen(c)) return;
  const upTo = Math.round(c.readUpTo * 1000);
  const unread = c.lines.filter(
    (l) => (l.kind === "said" || l.kind === "action") && !l.own && millis(l.time) > upTo);
  c.unread = unread.length;
  c.marker = unread.length ? unread[0] : null;
  drawConversations();
  drawTitle();
}

// We read `c` (shown, and the tab visible): tell the server up to its newest line,
// unless it knows already. Logged in only: a guest's markers would be this page's alone.
function markRead(c) {
  if (!state.account || state.phase !== "chatting" || c.server || !seen(c)) return;
  const newest = c.lines.reduce((t, l) => (l.kind !== "notice" && l.time > t ? l.time : t), 0);
  const known = Math.max(Math.round((c.readUpTo ?? 0) * 1000), millis(c.sentUpTo ?? 0));
  if (!newest || millis(newest) <= known) return;
  c.sentUpTo = newest;
  send({ type: "mark-read", target: c.title, time: newest });
}

// A time in milliseconds as the server counts them everywhere (chat/vocabulary.py's
// millis: rounded down, as IRC's time tag shows a line and a marker is kept), so that a
// line is read exactly when a marker made of its time, on any door, says so.
function millis(time) {
  return Math.floor(time * 1000 + 1e-3);
}

function markSoon() {
  if (state.markTimer || !state.account) return;
  state.markTimer = setTimeout(() => {
    state.markTimer = 0;
    const c = currentConversation();
    if (c) markRead(c);
  }, MARK_DELAY);
}

function forget(k) {
  state.conversations.delete(k);
  if (state.current === k) {
    const next = [...state.conversations.keys()].find((x) => x.startsWith("#"));
    state.current = "";
    show(next || SERVER);
  }
  drawConversations();
  drawTitle();
}

// A user we talk to privately changed their name: the conversation follows them.
function follows(old, renamed) {
  const from = key(old), to = key(renamed);
  const c = state.conversations.get(from);
  if (!c || from === to && c.title === renamed) return;
  state.conversations.delete(from);
  const existing = state.conversations.get(to);
  if (existing) c.lines.push(...existing.lines);   // they talked to us meanwhile
  c.key = to;
  c.title = renamed;
  state.conversations.set(to, c);
  if (state.current === from) state.current = to;
  notice(`${old} is now known as ${renamed}`, c);
  if (state.current === to) show(to); else drawConversations();
}

// -- drawing ---------------------------------------------------------------------------

function drawConversations() {
  const list = $("conversations");
  list.replaceChildren();
  const ordered = [...state.conversations.values()].sort((a, b) => b.server - a.server);
  for (const c of ordered) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = c.room || c.server ? c.title : "@" + c.title;
    if (c.key === state.current) button.setAttribute("aria-current", "true");
    if (c.unread) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = String(c.unread);
      badge.setAttribute("aria-label", `${c.unread} unread`);
      button.append(" ", badge);
    }
    button.addEventListener("click", () => { show(c.key); $("message").focus(); });
    const item = document.createElement("li");
    item.append(button);
    list.append(item);
  }
}

// The tab's title counts what is unread everywhere: "(3) chat-trio".
function drawTitle() {
  let unread = 0;
  for (const c of state.conversations.values()) unread += c.unread;
  document.title = unread ? `(${unread}) chat-trio` : "chat-trio";
}

function drawLog() {
  const c = currentConversation();
  const log = $("log");
  log.replaceChildren(...(c ? logElements(c.lines, c.marker) : []));
  scrollDown();
}

// The lines as list items, with a date above each day's first line and the unread
// divider above `marker`.
function logElements(lines, marker) {
  const items = [];
  let day = "";
  for (const line of lines) {
    const today = dayOf(line.time);
    if (today !== day) items.push(dayElement(line.time));
    day = today;
    if (line === marker) items.push(dividerElement());
    items.push(lineElement(line));
  }
  return items;
}

function appendLine(line) {
  const log = $("log");
  const reading = !stuck && !line.own;   // own lines always bring the view down
  const last = [...log.querySelectorAll("li[data-day]")].pop();
  if (!last || last.dataset.day !== dayOf(line.time)) log.append(dayElement(line.time));
  const c = currentConversation();
  if (c && c.marker === line) log.append(dividerElement());
  log.append(lineElement(line));
  if (reading) $("below").hidden = false; else scrollDown();
}

// Earlier lines were put above: keep what the reader was looking at where it was, and
// bring the newest of the loaded lines into view just above it.
function drawEarlier(count) {
  const log = $("log");
  const fromBottom = log.scrollHeight - log.scrollTop;
  const c = currentConversation();
  log.replaceChildren(...logElements(c.lines, c.marker));
  log.scrollTop = log.scrollHeight - fromBottom;
  const loaded = c.lines[count - 1];
  if (loaded) lineNode(loaded)?.scrollIntoView({ block: "end" });
}

function lineNode(line) {
  return [...$("log").children].find((node) => node.line === line) || null;
}

// Whether the view follows the newest line: true until the reader scrolls up, and again
// once they are back at the bottom (scroll events say; appending lines does not move it).
let stuck = true;
let lastTop = 0;   // scrollTop when last seen: less than that is the reader scrolling up

function atBottom() {
  const log = $("log");
  return log.scrollHeight - log.scrollTop - log.clientHeight <= AT_BOTTOM;
}

function scrollDown() {
  const log = $("log");
  log.scrollTop = log.scrollHeight;
  lastTop = log.scrollTop;
  stuck = true;
  $("below").hidden = true;
}

function drawMembers() {
  const c = currentConversation();
  const names = c && c.room ? [...c.members].sort((a, b) => a.localeCompare(b)) : [];
  const items = names.map((name) => memberElement(c, name));
  const unlisted = c && c.room ? c.unlisted : 0;
  if (unlisted > 0) {
    const more = document.createElement("li");
    more.className = "more";
    more.textContent = `and ${unlisted} more`;
    items.push(more);
  }
  $("members").replaceChildren(...items);
  const count = names.length + unlisted;
  $("members-title").textContent = c && c.room ? `Members (${count})` : "Members";
  drawRoomMenu();
}

// The room's modes in a line under the topic: "invite only · key · limit 50 · moderated
// · secret" (nothing when none is on).
const MODE_WORDS = { "invite-only": "invite only", key: "key", limit: "limit", moderated: "moderated",
                     secret: "secret" };

function drawModes() {
  const c = currentConversation();
  const words = c && c.room
    ? Object.keys(MODE_WORDS).filter((m) => c.modes.has(m))
        .map((m) => m === "limit" ? `limit ${c.limit}` : MODE_WORDS[m])
    : [];
  $("modes").textContent = words.join(" · ");
  $("modes").hidden = !words.length;
  drawRoomMenu();
}

// The operator's room menu (its operators and admins only): the modes as check boxes, the
// key and the limit as small forms, and an invitation by name. What it shows is what the
// server said: a change shows once the room's "mode" event comes back.
function drawRoomMenu() {
  const c = currentConversation();
  const menu = $("room-menu");
  menu.hidden = !(c && runs(c));
  if (menu.hidden) return;
  for (const box of document.querySelectorAll("#mode-flags input")) {
    box.checked = c.modes.has(box.dataset.mode);
  }
  // The key and limit boxes are filled in only when what they show changed (a room
  // switched to, a mode event), never under the operator's fingers while typing.
  const keyed = c.modes.has("key"), limited = c.modes.has("limit");
  const drawn = JSON.stringify([c.key, keyed, c.roomKey, limited, c.limit]);
  if (menu.dataset.drawn === drawn) return;
  menu.dataset.drawn = drawn;
  $("room-key").value = keyed ? c.roomKey : "";
  $("room-key").readOnly = keyed;
  $("key-button").textContent = keyed ? "Remove key" : "Set key";
  $("room-limit").value = limited ? String(c.limit) : "";
  $("no-limit").hidden = !limited;
}

// What the server says a room's modes are (a "modes" answer, or one "mode" change).
function setModes(c, e) {
  if (e.type === "modes") {
    c.modes = new Set(e.modes);
    c.roomKey = e.key;
    c.limit = e.limit;
  } else {
    if (e.on) c.modes.add(e.mode); else c.modes.delete(e.mode);
    if (e.mode === "key") c.roomKey = e.on ? e.value : "";
    if (e.mode === "limit") c.limit = e.on ? Number(e.value) : 0;
  }
  if (c.key === state.current) drawModes();
}

// One member: a button that opens a private conversation (yourself: just the name), "@"
// before an admin's or an operator's name, "+" before a voiced one's, "away" after the
// name of one who is; and, when we run the room (its operator, or an admin), buttons
// to give or take its roles and to kick (plain buttons: Tab reaches them).
function memberElement(c, name) {
  const item = document.createElement("li");
  const admin = c.admins.has(name), away = c.away.has(name);
  const operator = c.operators.has(name), voiced = c.voiced.has(name);
  const holder = name === state.me ? document.createElement("span") : document.createElement("button");
  if (holder.tagName === "BUTTON") {
    holder.type = "button";
    holder.title = `Message ${name} privately`;
    holder.addEventListener("click", () => {
      show(conversation(name).key);
      $("message").focus();
    });
  }
  if (admin || operator || voiced) {
    const mark = document.createElement("abbr");
    mark.className = admin ? "admin" : operator ? "operator" : "voiced";
    mark.title = admin ? "admin" : operator ? "operator" : "voiced";
    mark.textContent = admin || operator ? "@" : "+";
    holder.append(mark);
  }
  holder.append(name);
  if (away) {
    const mark = document.createElement("small");
    mark.className = "away";
    mark.textContent = " away";
    holder.append(mark);
    item.classList.add("is-away");
  }
  item.append(holder);
  if (name !== state.me && runs(c)) item.append(roleActions(c, name, operator, voiced));
  return item;
}

// Do we run room `c` (its operator, or an admin, who acts as one in every room)?
function runs(c) {
  return c.room && (c.operators.has(state.me) || c.admins.has(state.me));
}

// The operator's buttons for a member: op or deop, voice or devoice, kick, which puts
// "/kick NAME " in the message box (the reason is typed there, and Enter sends it), and
// ban, which does the same with "/ban #room NAME " (a kick-ban: banned, then put out).
function roleActions(c, name, operator, voiced) {
  const actions = document.createElement("span");
  actions.className = "actions";
  const action = (label, title, object) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "action";
    button.textContent = label;
    button.title = title;
    button.setAttribute("aria-label", title);
    button.addEventListener("click", () => {
      if (typeof object === "string") {   // kick, ban: the reason is typed in the message box
        putInBox(object);
        $("message").focus();
      } else {
        send(object);
      }
    });
    actions.append(button);
  };
  const role = (which, on) => ({ type: "set-role", room: c.title, name, role: which, on });
  action(operator ? "deop" : "op", `${operator ? "Take operator from" : "Make operator"} ${name}`,
         role("operator", !operator));
  action(voiced ? "devoice" : "voice", `${voiced ? "Take voice from" : "Give voice to"} ${name}`,
         role("voice", !voiced));
  action("kick", `Kick ${name} out of ${c.title}`, `/kick ${name} `);
  action("ban", `Ban ${name} from ${c.title}`, `/ban ${c.title} ${name} `);
  return actions;
}

function drawLeave() {
  const c = currentConversation();
  const only = c && c.room && state.rooms.length <= 1;
  $("leave").disabled = Boolean(only);
  $("leave").title = only ? "You cannot leave your only room: join another first" : "";
}

// -- times and dates -------------------------------------------------------------------

function now() {
  return Date.now() / 1000;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function dayOf(seconds) {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;   // the reader's local day
}

function dayName(seconds) {
  const date = new Date(seconds * 1000);
  const long = date.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
  const today = dayOf(now());
  const yesterday = dayOf(now() - 86400);
  if (dayOf(seconds) === today) return `Today, ${long}`;
  if (dayOf(seconds) === yesterday) return `Yesterday, ${long}`;
  return long;
}

function dayElement(seconds) {
  const item = document.createElement("li");
  item.className = "day";
  item.setAttribute("role", "separator");
  item.dataset.day = dayOf(seconds);
  item.textContent = dayName(seconds);
  return item;
}

function dividerElement() {
  const item = document.createElement("li");
  item.className = "divider";
  item.setAttribute("role", "separator");
  item.textContent = "Unread messages";
  return item;
}

// -- lines -----------------------------------------------------------------------------

// Text with its web addresses as links: built as elements, never parsed as HTML.
function linkify(parent, text) {
  const parts = text.split(/(https?:\/\/[^\s<>"]+)/);
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) parent.append(part);
      return;
    }
    const a = document.createElement("a");
    a.href = part;
    a.textContent = part;
    a.rel = "noopener noreferrer nofollow";
    a.target = "_blank";
    parent.append(a);
  });
}

// Does `text` mention our name (as a word, in any case)?
function mentions(text) {
  if (!state.me) return false;
  const name = state.me.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w-])${name}($|[^\\w-])`, "i").test(text);
}

function lineElement(line) {
  const item = document.createElement("li");
  item.className = line.kind + (line.history ? " history" : "") + (line.mention ? " mention" : "")
    + (line.notice ? " user-notice" : "") + (line.deleted ? " deleted" : "");
  item.line = line;
  if (line.id) item.dataset.id = line.id;   // the server's id of the message (not shown)
  const time = document.createElement("time");
  const date = new Date(line.time * 1000);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = clock(line.time);
  item.append(time, " ");
  if (line.kind === "said") {
    const who = document.createElement("b");
    who.className = "who";
    who.textContent = line.notice ? `-${line.name}-` : line.name;  // a notice, as IRC shows it
    item.append(who, " ");
  } else if (line.kind === "action") {
    item.append("* " + line.name + " ");
  }
  if (line.kind === "help") {
    item.append(helpElement(line.commands));
    return item;
  }
  if (line.kind === "invitation" || line.kind === "needs-key") {
    item.classList.add("notice");
    item.append(line.text);
    item.append(line.kind === "invitation" ? joinButton(line.room) : keyForm(line.room));
    return item;
  }
  const text = document.createElement("span");
  text.className = "text";
  linkify(text, line.text);
  item.append(text);
  const c = currentConversation();
  if (c && deletable(c, line)) item.append(deleteButton(c, line));
  return item;
}

// Whether to offer to delete `line` of `c`: a message with an id, our own, or any in a
// room we run. The server decides (it knows whose a message is by identity, not name);
// this only offers the control where it would be allowed.
function deletable(c, line) {
  if (!line.id || line.deleted || (line.kind !== "said" && line.kind !== "action")) return false;
  return line.own || line.name === state.me || runs(c);
}

// "Delete" beside a message: asks the server to delete it for everyone.
function deleteButton(c, line) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "delete";
  button.textContent = "Delete";
  button.setAttribute("aria-label", `Delete this message by ${line.name}`);
  button.addEventListener("click", () => {
    send({ type: "redact", target: c.title, id: line.id });
  });
  return button;
}

// "Join" beside an invitation: joins the room (the invitation lets us past its modes).
function joinButton(room) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "join";
  button.textContent = "Join";
  button.setAttribute("aria-label", `Join ${room}`);
  button.addEventListener("click", () => send({ type: "join", room }));
  return button;
}

// A room needs a key: a box for it and "Join", beside the refusal.
function keyForm(room) {
  const form = document.createElement("form");
  form.className = "join-with-key";
  const box = document.createElement("input");
  box.setAttribute("aria-label", `Key for ${room}`);
  box.autocomplete = "off";
  const button = document.createElement("button");
  button.type = "submit";
  button.textContent = "Join";
  button.setAttribute("aria-label", `Join ${room} with this key`);
  form.append(box, button);
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    if (box.value.trim()) send({ type: "join", room, key: box.value.trim() });
  });
  return form;
}

function helpElement(commands) {
  const box = document.createElement("div");
  box.className = "text";
  box.append("Commands:");
  const list = document.createElement("dl");
  list.className = "commands";
  for (const command of commands) {
    const usage = document.createElement("dt");
    const code = document.createElement("code");
    code.textContent = command.usage;
    usage.append(code);
    const summary = document.createElement("dd");
    summary.textContent = command.summary;
    list.append(usage, summary);
  }
  box.append(list);
  return box;
}

// -- notifications ---------------------------------------------------------------------

// Asked once, ever, when the user enters the chat (a click: browsers ask only then).
function askToNotify() {
  if (!("Notification" in window) || Notification.permission !== "default") return;
  if (localStorage.getItem(ASKED_KEY)) return;
  localStorage.setItem(ASKED_KEY, "yes");
  Notification.requestPermission().catch(() => {});
}

function notify(title, body, c) {
  if (document.visibilityState === "visible") return;
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const shown = new Notification(title, { body, tag: c.key });
  shown.addEventListener("click", () => { window.focus(); show(c.key); });
}

document.addEventListener("visibilitychange", () => {
  const c = currentConversation();
  if (document.visibilityState !== "visible" || !c) return;
  c.unread = 0;
  markRead(c);
  drawConversations();
  drawTitle();
  if (c.marker) drawLog();   // show where the unread lines begin
});

// -- the status line -------------------------------------------------------------------

function status(text, kind) {
  $("status").textContent = text;
  $("status").dataset.state = kind;
}

function sentence(text) {
  return text ? text[0].toUpperCase() + text.slice(1) + "." : "";
}

// -- the connection --------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws");
  state.socket = socket;
  state.me = "";
  state.account = false;
  setPhase("connecting");
  status(state.attempts ? "Reconnecting…" : "Connecting…", "connecting");
  socket.addEventListener("message", (message) => {
    for (const event of JSON.parse(message.data)) handle(event);
  });
  socket.addEventListener("close", (closed) => lost(closed));
}

// The user asks to come back (the form after the connection ended, "Enter again", "Log
// out"): a fresh start, with nothing of the last connection's endings kept.
function startOver() {
  Object.assign(state, { reconnect: true, banned: false, ending: "", refusal: "", attempts: 0 });
  connect();
}

function send(object) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(object));
    return true;
  }
  notice("Not connected: this was not sent.");
  return false;
}

// The socket closed. Say why (what the server said last, which stays the reason until
// we are back in), and try again unless the user, an admin or the rules ended it.
function lost(closed) {
  const reason = state.ending || sentence(closed.reason) || "Connection lost.";
  const wasChatting = state.phase === "chatting";
  state.socket = null;
  if (state.loggingOut) {
    state.loggingOut = false;
    loggedOut();
    return;
  }
  if (!state.reconnect) {
    setPhase("closed");
    status(`Disconnected: ${reason}`, "closed");
    if (!$("login").hidden) $("login-error").textContent = reason;
    return;
  }
  if (wasChatting) state.pending = state.identity;   // come back as who we were
  // Back off 1, 2, 4 ... 30 s, with jitter so that a restarted server is not hit by
  // every page at the same moment.
  const delay = Math.min(BACKOFF_MAX, 2 ** state.attempts) * (0.75 + Math.random() / 2);
  state.attempts += 1;
  setPhase("waiting");
  status(`Disconnected: ${reason} Reconnecting in ${Math.ceil(delay)} s…`, "reconnecting");
  setTimeout(connect, delay * 1000);
}

function enter(identity) {
  state.identity = identity;
  state.pending = null;
  setPhase("entering");
  if (identity.password && !identity.register) {
    send({ type: "log-in", name: identity.name, password: identity.password });
  } else {
    send({ type: "choose-name", name: identity.name });
  }
}

function showLogin() {
  $("chat").hidden = true;
  $("login").hidden = false;
  if (state.identity) $("name").value = state.identity.name;
}

function loggedOut() {
  state.identity = null;
  state.pending = null;
  state.rooms = [];
  state.conversations.clear();
  state.current = "";
  $("password").value = "";
  $("register").checked = false;
  drawTitle();
  showLogin();
  startOver();
}

// -- events from the server ------------------------------------------------------------

const handlers = {
  greeting(e) {
    if (e.limits) state.limits = e.limits;
    $("name").maxLength = state.limits.name;
    $("message").maxLength = state.limits.line;   // characters: a bound; bytes are checked too
  },
  "ask-name"() {
    if (state.pending) {
      enter(state.pending);     // a reconnection, or a name given while disconnected
      return;
    }
    showLogin();
    setPhase("naming");
    status("Connected: choose a name", "online");
    $("name").focus();
  },
  welcome(e) {
    welcomed(e.name);
    if (state.identity && state.identity.register) {
      state.identity.register = false;   // asked once: a reconnection logs in instead
      state.registering = true;          // its answer is shown, whatever is open then
      send({ type: "register", password: state.identity.password });
    }
  },
  done(e) {
    if (e.outcome === "registered" && state.registering) {
      state.registering = false;
      state.follow = true;
      $("register").checked = false;   // it is registered: next time, log in to it
    }
    if (e.outcome === "logged-in" || e.outcome === "registered") state.account = true;
    if (e.outcome === "unregistered") state.account = false;
    if (e.outcome === "logged-in") {
      if (!state.me) welcomed(e.name);
      state.me = e.name;
    }
    if (e.outcome === "kicked-you" || e.outcome === "banned-you") {
      state.reconnect = false;
      state.ending = e.message;
      notice(e.message);
      return;
    }
    const about = e.room && state.conversations.get(key(e.room));  // a registered room's
    reply(e.message, about || server());
  },
  refused(e) {
    state.refusal = e.message;
    if (e.problem === "address-banned") {    // no use trying again: say so, and stop
      state.banned = true;
      state.reconnect = false;
      state.ending = e.message;
    }
    if (e.final) state.reconnect = false;    // too many names: the form says it
    if (!state.me) {            // choosing a name: say it next to the name box
      showLogin();
      $("login-error").textContent = e.message;
      if (!RETRY.has(e.problem) && !state.banned) setPhase("naming");
      state.attempts = 0;
      return;
    }
    if (e.problem === "line-too-long" && !$("message").value) $("message").value = state.lastSent;
    if (state.registering) {     // not registered: a reconnection comes back as a guest
      state.registering = false;
      state.identity.password = "";
    }
    const about = e.room && state.conversations.get(key(e.room));
    if (e.problem === "needs-key") {   // a room with a key: a box to type it in, and Join
      reply({ kind: "needs-key", room: e.room, text: e.message, time: now() },
            currentConversation() || server());
      return;
    }
    reply(e.message, about || currentConversation() || server());
    drawRoomMenu();
  },
  "room-entered"(e) {
    const c = conversation(e.room);
    c.topic = e.topic;
    if (e.joined && e.marker !== null) c.readUpTo = e.marker;
    if (!state.rooms.some((r) => key(r) === c.key)) state.rooms.push(e.room);
    state.follow = false;
    if (e.joined || !state.current || state.current === SERVER) show(c.key); else drawLeave();
  },
  "room-left"(e) {
    state.rooms = state.rooms.filter((r) => key(r) !== key(e.room));
    forget(key(e.room));
    drawLeave();
    if (e.by) notice(e.message);   // kicked out: say who and why where we are now
  },
  role(e) {
    const c = conversation(e.room);
    const holders = e.role === "operator" ? c.operators : c.voiced;
    if (e.on) holders.add(e.name); else holders.delete(e.name);
    if (c.key === state.current) drawMembers();
    notice(e.message, c);
  },
  mode(e) {      // an operator turned a mode of the room on or off
    const c = conversation(e.room);
    setModes(c, e);
    notice(e.message, c);
  },
  modes(e) {     // asked by the door on joining (label "modes"), or by "/mode": in words
    const c = state.conversations.get(key(e.room));
    if (c) setModes(c, e);
    if (e.label !== "modes") reply(e.message, c || server());
  },
  invitation(e) {  // an operator invites us: say so where we are, with a Join button
    const c = currentConversation() || server();
    add(c, { kind: "invitation", room: e.room, text: `${e.by} invited you to ${e.room}`, time: now() });
    notify(`${e.by} invited you to ${e.room}`, e.message, c);
  },
  invited(e) {   // another operator of the room invited someone
    notice(e.message, conversation(e.room));
  },
  ban(e) {       // an operator banned someone from the room, or lifted a ban
    notice(e.message, conversation(e.room));
  },
  bans(e) {      // the answer to "/bans": a heading, then one line per ban
    for (const line of e.lines) reply(line, conversation(e.room));
  },
  "invite-sent"(e) {
    reply(e.message, conversation(e.room));
  },
  invitations(e) {  // the answer to "/invites": the rooms one may join by invitation
    reply(e.message);
  },
  "past-names"(e) {  // the answer to "/whowas": who had the name lately, in words
    reply(e.message);
  },
  "status-message"(e) {  // IRC's PRIVMSG @#room: to the room's operators, said as such
    if (!e.own) notice(e.message, conversation(e.room));
  },
  "room-info"(e) {  // the answer to "/room info": who founded the room, whom it lists
    const known = state.conversations.get(key(e.room));
    reply(e.message, known || currentConversation() || server());
  },
  kicked(e) {
    const c = conversation(e.room);
    for (const names of [c.members, c.operators, c.voiced]) names.delete(e.name);
    if (c.key === state.current) drawMembers();
    notice(e.message, c);
  },
  users(e) {
    if (e.label === "members" && e.room) {
      const c = conversation(e.room);
      c.members = new Set(e.names);
      c.admins = new Set(e.admins);
      c.away = new Set(e.away || []);
      c.operators = new Set(e.operators || []);
      c.voiced = new Set(e.voiced || []);
      c.unlisted = e.total - e.names.length;   // a big room: the server lists the first ones
      if (c.key === state.current) drawMembers();
    } else {
      const where = e.room ? `in ${e.room}` : "online";
      const about = e.room ? state.conversations.get(key(e.room)) : null;
      reply(`Users ${where}: ${e.total} (${e.names.join(", ")})`, about || server());
    }
  },
  joined(e) {
    const c = conversation(e.room);
    c.members.add(e.name);
    if (e.admin) c.admins.add(e.name);
    if (e.operator) c.operators.add(e.name);
    if (c.key === state.current) drawMembers();
    notice(`${e.name} joined ${e.chat ? "the chat" : e.room}`, c);
  },
  left(e) {
    // Why, as the text door says it: "(gone fishing)", "(kicked: spamming)", "(idle)".
    const because = e.reason === "quit" || e.reason === "closed" ? "" : e.reason;
    const said = [because, e.text].filter(Boolean).join(": ");
    const why = said ? ` (${said})` : "";
    // Leaving the chat is said once, through one shared room: it is news in each of them.
    for (const c of e.chat ? roomsWith(e.name, e.room) : [conversation(e.room)]) {
      for (const names of [c.members, c.operators, c.voiced]) names.delete(e.name);
      if (c.key === state.current) drawMembers();
      notice(`${e.name} left ${e.chat ? "the chat" : e.room}${why}`, c);
    }
  },
  nick(e) {
    if (e.room) {               // someone else's: told once, for every room we share
      for (const c of roomsWith(e.old, e.room)) {
        for (const names of [c.members, c.admins, c.away, c.operators, c.voiced]) {
          if (names.delete(e.old)) names.add(e.new);
        }
        if (c.key === state.current) drawMembers();
        notice(`${e.old} is now known as ${e.new}`, c);
      }
      follows(e.old, e.new);
    } else {                    // our own rename
      state.me = e.new;
      if (state.identity) state.identity.name = e.new;
      reply(`You are now known as ${e.new}`, currentConversation() || server());
      status(`Connected as ${e.new}`, "online");
    }
  },
  said(e) { message("said", e); },
  action(e) { message("action", e); },
  private(e) {
    const c = conversation(e.peer);
    const name = e.incoming ? e.peer : state.me;
    add(c, { kind: e.action ? "action" : "said", name, text: e.text, time: now(),
             own: !e.incoming, id: e.id, notice: Boolean(e.notice) });
    if (e.incoming) notify(`${e.peer} (private)`, e.text, c);
    state.follow = false;
    if (!e.incoming && state.current !== c.key) show(c.key);
    if (e.away) notice(`${e.peer} is away: ${e.away}`, c);
  },
  "topic-changed"(e) {
    const c = conversation(e.room);
    c.topic = e.text;
    if (c.key === state.current) $("topic").textContent = e.text;
    notice(`${e.name} set the topic: ${e.text}`, c);
  },
  topic(e) {
    const about = state.conversations.get(key(e.room));
    reply(e.text ? `Topic of ${e.room}: ${e.text}` : `${e.room} has no topic.`, about || server());
  },
  away(e) {
    if (!e.room) {              // our own: marked in every room, and said
      for (const c of state.conversations.values()) marked(c, state.me, e.text);
      reply(e.text ? `You are away: ${e.text}` : "You are back.");
      return;
    }
    for (const c of roomsWith(e.name, e.room)) marked(c, e.name, e.text);
  },
  account(e) {
    for (const c of roomsWith(e.name, e.room)) {
      if (e.admin) c.admins.add(e.name); else c.admins.delete(e.name);
      if (c.key === state.current) drawMembers();
    }
  },
  marker(e) {   // our read marker of a conversation: asked for, or moved (on any device)
    const c = state.conversations.get(key(e.target));
    if (!c || e.time === null) return;
    if (c.readUpTo === null || e.time > c.readUpTo) c.readUpTo = e.time;
    recount(c);
  },
  redacted(e) {
    // A room's, or a private one: ours to someone (target: them), or theirs to us.
    const peer = e.target.startsWith("#") || e.by === state.me ? e.target : e.by;
    const c = state.conversations.get(key(peer));
    const line = c && c.lines.find((l) => l.id === e.id);
    if (!line) return;
    const by = e.by === e.author ? "" : ` by ${e.by}`;
    Object.assign(line, { deleted: true, mention: false,
                          text: `message deleted${by}${e.reason ? `: ${e.reason}` : ""}` });
    if (c.key === state.current) lineNode(line)?.replaceWith(lineElement(line));
  },
  unheard(e) { notice(`Nobody else is in ${e.room} right now.`, conversation(e.room)); },
  unreachable(e) { notice(`${e.text}.`, conversation(e.room)); },
  missed(e) { notice(`${e.text}.`, conversation(e.room)); },
  history(e) { history(e); },
  rooms(e) {
    reply(`Rooms: ${e.total} (${e.rooms.map((r) => `${r.name} ${r.members}`).join(", ")})`);
  },
  whois(e) {
    const about = state.conversations.get(key(e.name));
    reply(e.message, about && !about.room ? about : server());
  },
  help(e) {
    reply({ kind: "help", commands: e.commands, text: "", time: now() });
  },
  goodbye(e) {
    state.reconnect = false;
    state.ending = e.reason === "quit" ? "You left the chat." : state.refusal || state.ending;
  },
  disconnected(e) {
    state.ending = e.message;
    if (e.reason !== "shutdown" && e.reason !== "slow") state.reconnect = false;
  },
};

function handle(event) {
  const handler = handlers[event.type];
  if (handler) handler(event);
}

// Someone (`name`) is away saying `text`, or back (""): marked in `c`'s member list.
function marked(c, name, text) {
  if (text) c.away.add(name); else c.away.delete(name);
  if (c.key === state.current) drawMembers();
}

function welcomed(name) {
  state.me = name;
  state.attempts = 0;
  state.ending = "";
  setPhase("chatting");
  $("login").hidden = true;
  $("login-error").textContent = "";
  $("chat").hidden = false;
  status(`Connected as ${name}`, "online");
  server();
  // After a reconnection, go back to the rooms we were in (the lobby comes by itself);
  // each sends its recent history again, so what the page had of them is replaced.
  const rooms = state.rooms;
  state.rooms = [];
  for (const c of state.conversations.values()) {
    if (!c.room) continue;
    Object.assign(c, { lines: [], members: new Set(), admins: new Set(), away: new Set(),
                       operators: new Set(), voiced: new Set(),
                       modes: new Set(), roomKey: "", limit: 0,
                       oldest: null, oldestId: "", more: false, marker: null, unread: 0,
                       readUpTo: null, sentUpTo: null });
  }
  for (const room of rooms) {
    if (key(room) !== "#lobby") send({ type: "join", room });
  }
  drawLog();
  drawTitle();
  $("message").focus();
}

function message(kind, e) {
  const c = conversation(e.room);
  const mention = !e.own && e.name !== state.me && mentions(e.text);
  add(c, { kind, name: e.name, text: e.text, time: e.time || now(), own: Boolean(e.own), mention,
           id: e.id, notice: Boolean(e.notice) });
  if (mention) notify(`${e.name} in ${e.room}`, e.text, c);
}

function history(e) {
  const c = conversation(e.title);
  const lines = e.entries
    .filter((x) => ["said", "action", "topic", "pm", "notice"].includes(x.kind))
    .map((x) => ({
      kind: x.kind === "topic" ? "notice" : x.kind === "pm" || x.kind === "notice" ? "said" : x.kind,
      notice: x.kind === "notice",
      name: x.name,
      text: x.kind === "topic" ? `${x.name} set the topic: ${x.text}` : x.text,
      time: x.time,
      id: x.id,
      history: true,
    }));
  const first = e.entries[0];
  if (first && (c.oldest === null || first.time <= c.oldest)) {
    c.oldest = first.time;
    c.oldestId = first.id;   // "load earlier" asks for what came before this message
  }
  // A room's first history comes on joining; "load earlier" asks for a page at a time.
  c.more = c.room && e.entries.length > 0 && (!e.asked || e.entries.length >= HISTORY_PAGE);
  if (e.asked && c.room) {
    add(c, lines, { prepend: true });
    if (!lines.length) notice("No earlier messages.", c);
  } else {
    for (const line of lines) add(c, line);
    recount(c);   // what came in while we were away, as our marker says
  }
  if (e.asked && state.follow) {   // "/history @bob": show the conversation it is about
    state.follow = false;
    show(c.key);
  }
  if (c.key === state.current) $("earlier").hidden = !c.more;
}

// -- what the user does ----------------------------------------------------------------

$("login").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const identity = {
    name: $("name").value.trim(),
    password: $("password").value,
    register: $("register").checked,
  };
  const problem = identityProblem(identity);
  $("login-error").textContent = problem;
  if (problem) return;
  askToNotify();
  if (state.phase === "naming") {
    enter(identity);
  } else {                    // the connection ended: start again, and enter once asked
    state.identity = identity;
    state.pending = identity;
    startOver();
  }
});

// What the server would refuse about a name to register, said on the form before trying.
function identityProblem(identity) {
  if (!identity.register) return "";
  const [shortest, longest] = state.limits.password;
  if (!identity.password) return "To register a name, choose a password for it.";
  if (identity.password.length < shortest || identity.password.length > longest || /\s/.test(identity.password)) {
    return `A password must be ${shortest} to ${longest} characters, without spaces.`;
  }
  return "";
}

$("send").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const text = $("message").value;
  if (!text.trim()) return;
  const problem = lineProblem(text);
  $("send-error").textContent = problem;
  if (problem) return;          // the text stays in the box, to be shortened
  if (typed(text)) {
    remember(text);
    $("message").value = "";
  }
});

function lineProblem(text) {
  const sent = text.startsWith("//") ? text.slice(1) : text;
  const bytes = new TextEncoder().encode(sent).length;
  if (bytes <= state.limits.line) return "";
  return `Too long to send: ${bytes} bytes, at most ${state.limits.line}. Shorten it and send again.`;
}

function remember(text) {
  state.lastSent = text;
  if (state.typed[state.typed.length - 1] !== text) state.typed.push(text);
  if (state.typed.length > TYPED_KEPT) state.typed.shift();
  state.typedAt = state.typed.length;
  state.draft = "";
}

// One line from the message box; returns whether it was sent.
function typed(text) {
  const c = currentConversation();
  if (text.startsWith("/") && !text.startsWith("//")) {
    const [word, ...rest] = text.slice(1).split(" ");
    const args = rest.join(" ").trim();
    if (word.toLowerCase() === "quit") state.reconnect = false;
    if (word.toLowerCase() === "me" && c && !c.room && !c.server && args) {
      return send({ type: "send-private", name: c.title, text: args, action: true });
    }
    state.follow = true;
    const room = c && c.room ? c.title : state.rooms[0] || "";
    return send({ type: "command", line: text, room });
  }
  const line = text.startsWith("//") ? text.slice(1) : text;
  if (!c || c.server) {
    $("send-error").textContent = "This is the server's conversation: choose a room or a person to talk to.";
    return false;
  }
  if (c.room) return send({ type: "say", room: c.title, text: line });
  return send({ type: "send-private", name: c.title, text: line });
}

$("message").addEventListener("keydown", (pressed) => {
  if (pressed.key === "Tab" && !pressed.shiftKey && !pressed.ctrlKey && !pressed.altKey) {
    if (complete()) pressed.preventDefault();   // nothing to complete: Tab moves on
    return;
  }
  state.completion = null;
  if (pressed.key === "ArrowUp" && state.typedAt > 0) {
    if (state.typedAt === state.typed.length) state.draft = $("message").value;
    state.typedAt -= 1;
    putInBox(state.typed[state.typedAt]);
    pressed.preventDefault();
  } else if (pressed.key === "ArrowDown" && state.typedAt < state.typed.length) {
    state.typedAt += 1;
    putInBox(state.typedAt === state.typed.length ? state.draft : state.typed[state.typedAt]);
    pressed.preventDefault();
  }
});

$("message").addEventListener("input", () => {
  $("send-error").textContent = "";
  state.completion = null;      // typed over: the next Tab starts afresh
});

function putInBox(text) {
  const box = $("message");
  box.value = text;
  box.setSelectionRange(text.length, text.length);
}

// Tab: complete the name being typed from the people in this conversation; Tab again
// goes to the next one. At the start of the line the name gets ": " (talking to them).
function complete() {
  const box = $("message");
  const c = currentConversation();
  if (!c || c.server) return false;
  let done = state.completion;
  if (!done) {
    const end = box.selectionStart;
    const start = box.value.lastIndexOf(" ", end - 1) + 1;
    const prefix = box.value.slice(start, end).toLowerCase();
    if (!prefix) return false;
    const people = c.room ? [...c.members] : [c.title];
    const names = people
      .filter((n) => n !== state.me && n.toLowerCase().startsWith(prefix))
      .sort((a, b) => a.localeCompare(b));
    if (!names.length) return false;
    done = state.completion = { start, end, names, index: -1 };
  }
  done.index = (done.index + 1) % done.names.length;
  const ending = done.start === 0 ? ": " : " ";
  const word = done.names[done.index] + ending;
  const rest = box.value.slice(done.end);
  box.value = box.value.slice(0, done.start) + word + rest;
  done.end = done.start + word.length;
  box.setSelectionRange(done.end, done.end);
  return true;
}

$("join").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  let [room, roomKey = ""] = $("join-room").value.trim().split(/\s+/, 2);   // "#rust KEY"
  if (!room) return;
  if (!room.startsWith("#")) room = "#" + room;
  if (send({ type: "join", room, key: roomKey })) $("join-room").value = "";
});

$("leave").addEventListener("click", () => {
  const c = currentConversation();
  if (!c || c.server) return;
  if (c.room) send({ type: "leave", room: c.title }); else forget(c.key);
});

// The room menu: each change is a "set-mode" (or an "invite") for the room shown.
function runRoom(object) {
  const c = currentConversation();
  return Boolean(c && c.room) && send({ room: c.title, ...object });
}

// A box shows what was asked at once; a refusal (or no connection) puts it back as the
// room is (the "refused" handler redraws the menu), a "mode" event confirms it.
for (const box of document.querySelectorAll("#mode-flags input")) {
  box.addEventListener("change", () => {
    if (!runRoom({ type: "set-mode", mode: box.dataset.mode, on: box.checked })) drawRoomMenu();
  });
}

$("key-form").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const c = currentConversation();
  if (!c || !c.room) return;
  if (c.modes.has("key")) runRoom({ type: "set-mode", mode: "key", on: false });
  else if ($("room-key").value.trim()) runRoom({ type: "set-mode", mode: "key", key: $("room-key").value.trim() });
});

$("limit-form").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const limit = Number($("room-limit").value);
  if (!$("room-limit").value || !Number.isInteger(limit)) {
    notice("A member limit is a whole number of members.");
    return;
  }
  runRoom({ type: "set-mode", mode: "limit", limit });
});

$("no-limit").addEventListener("click", () => runRoom({ type: "set-mode", mode: "limit", on: false }));

$("invite-form").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const name = $("invite-name").value.trim();
  if (name && runRoom({ type: "invite", name })) $("invite-name").value = "";
});

$("earlier").addEventListener("click", () => {
  const c = currentConversation();
  if (!c || !c.room) return;
  const ask = { type: "read-history", room: c.title, limit: HISTORY_PAGE };
  if (c.oldestId) ask.before_id = c.oldestId;
  else if (c.oldest !== null) ask.before = c.oldest;
  send(ask);
});

$("below").addEventListener("click", () => scrollDown());
$("log").addEventListener("scroll", () => {
  const log = $("log");
  if (atBottom()) {
    if (!stuck && currentConversation()) markRead(currentConversation());  // caught up
    stuck = true;
  } else if (log.scrollTop < lastTop) stuck = false;   // only the reader scrolls up
  lastTop = log.scrollTop;
  if (stuck) $("below").hidden = true;
});
// The log's height changes (a button above it appears, the window is resized): a reader
// at the bottom stays there.
new ResizeObserver(() => { if (stuck) scrollDown(); }).observe($("log"));

$("logout").addEventListener("click", () => {
  state.reconnect = false;
  state.loggingOut = true;
  if (!send({ type: "quit" })) {
    state.loggingOut = false;
    loggedOut();
  }
});

$("again").addEventListener("click", () => {
  state.pending = null;
  state.rooms = [];
  state.conversations.clear();
  state.current = "";
  drawTitle();
  startOver();
});

connect();

// On a phone the member list starts folded, under the messages.
if (matchMedia("(max-width: 640px)").matches) $("members-box").open = false;
