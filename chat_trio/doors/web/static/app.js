// chat-trio's page: one WebSocket to /ws speaking the JSON dialect of docs/protocol.md.
//
// The server sends arrays of events; the page keeps one conversation per room and per
// private peer, and draws the current one. Every piece of text from other people is put
// in the page with textContent (never as HTML), so a line like <img onerror=...> shows
// as it was typed. Nothing here is needed to chat: the rules are all on the server.
"use strict";

const HISTORY_PAGE = 50;      // lines asked for by "Load earlier messages"
const LINES_KEPT = 1000;      // per conversation; older lines are dropped from the page
const BACKOFF_MAX = 30;       // seconds between reconnection attempts, at most

const $ = (id) => document.getElementById(id);

const state = {
  socket: null,
  me: "",                     // our name, once the server welcomed us
  identity: null,             // {name, password, register}: sent again when reconnecting
  conversations: new Map(),   // key ("#room" lower-cased, or "@peer") -> conversation
  current: "",                // key of the conversation shown
  rooms: [],                  // the rooms we are in, in order (rejoined after a reconnect)
  ending: "",                 // why the server ended the connection, if it said
  reconnect: true,            // false after /quit, a kick or a ban
  attempts: 0,
};

// -- conversations ---------------------------------------------------------------------

function key(name) {
  return name.startsWith("#") ? name.toLowerCase() : "@" + name.toLowerCase();
}

function conversation(name) {
  const k = key(name);
  let c = state.conversations.get(k);
  if (!c) {
    c = { key: k, title: name, room: name.startsWith("#"), lines: [], unread: 0,
          members: new Set(), unlisted: 0, topic: "", oldest: null, more: false };
    state.conversations.set(k, c);
    drawConversations();
  }
  return c;
}

function add(c, line, { prepend = false } = {}) {
  if (prepend) {
    c.lines.unshift(...line);
  } else {
    c.lines.push(line);
    if (c.key !== state.current && line.kind !== "notice") c.unread += 1;
  }
  if (c.lines.length > LINES_KEPT) c.lines.splice(0, c.lines.length - LINES_KEPT);
  if (c.key === state.current && prepend) {
    drawLog();
  } else if (c.key === state.current) {
    $("log").append(lineElement(line));
    scrollDown();
  } else if (!prepend) {
    drawConversations();     // its unread count changed
  }
}

function notice(text, c = currentConversation()) {
  if (c) add(c, { kind: "notice", text, time: Date.now() / 1000 });
}

function currentConversation() {
  return state.conversations.get(state.current) || null;
}

function show(k) {
  const c = state.conversations.get(k);
  if (!c) return;
  state.current = k;
  c.unread = 0;
  drawConversations();
  drawLog();
  drawMembers();
  $("title").textContent = c.title;
  $("topic").textContent = c.topic;
  $("leave").textContent = c.room ? "Leave" : "Close";
  $("earlier").hidden = !c.more;
}

function forget(k) {
  state.conversations.delete(k);
  if (state.current === k) {
    const next = [...state.conversations.keys()].find((x) => x.startsWith("#"));
    state.current = "";
    if (next) show(next); else drawLog();
  }
  drawConversations();
}

// -- drawing ---------------------------------------------------------------------------

function drawConversations() {
  const list = $("conversations");
  list.replaceChildren();
  for (const c of state.conversations.values()) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = c.room ? c.title : "@" + c.title;
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

function drawLog() {
  const c = currentConversation();
  $("log").replaceChildren(...(c ? c.lines.map(lineElement) : []));
  scrollDown();
}

function drawMembers() {
  const c = currentConversation();
  const names = c && c.room ? [...c.members].sort((a, b) => a.localeCompare(b)) : [];
  const items = names.map((name) => {
    const item = document.createElement("li");
    item.textContent = name;
    return item;
  });
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
}

function scrollDown() {
  const log = $("log");
  log.scrollTop = log.scrollHeight;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

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

function lineElement(line) {
  const item = document.createElement("li");
  item.className = line.kind + (line.history ? " history" : "");
  const time = document.createElement("time");
  time.dateTime = new Date(line.time * 1000).toISOString();
  time.textContent = clock(line.time);
  item.append(time, " ");
  if (line.kind === "said") {
    const who = document.createElement("b");
    who.className = "who";
    who.textContent = line.name;
    item.append(who, " ");
  } else if (line.kind === "action") {
    item.append("* " + line.name + " ");
  }
  const text = document.createElement("span");
  text.className = "text";
  linkify(text, line.text);
  item.append(text);
  return item;
}

function status(text, kind) {
  $("status").textContent = text;
  $("status").dataset.state = kind;
}

// -- the connection --------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws");
  state.socket = socket;
  state.me = "";
  status(state.attempts ? "Reconnecting…" : "Connecting…", "connecting");
  socket.addEventListener("message", (message) => {
    for (const event of JSON.parse(message.data)) handle(event);
  });
  socket.addEventListener("close", (closed) => lost(closed));
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
// we are back in), and try again unless the user or an admin ended it.
function lost(closed) {
  const reason = state.ending || sentence(closed.reason) || "Connection lost.";
  state.socket = null;
  if (!state.reconnect) {
    status(`Disconnected: ${reason}`, "closed");
    return;
  }
  // Back off 1, 2, 4 ... 30 s, with jitter so that a restarted server is not hit by
  // every page at the same moment.
  const delay = Math.min(BACKOFF_MAX, 2 ** state.attempts) * (0.75 + Math.random() / 2);
  state.attempts += 1;
  status(`Disconnected: ${reason} Reconnecting in ${Math.ceil(delay)} s…`, "reconnecting");
  setTimeout(connect, delay * 1000);
}

function sentence(text) {
  return text ? text[0].toUpperCase() + text.slice(1) + "." : "";
}

function enter(identity) {
  state.identity = identity;
  if (identity.password && !identity.register) {
    send({ type: "log-in", name: identity.name, password: identity.password });
  } else {
    send({ type: "choose-name", name: identity.name });
  }
}

// -- events from the server ------------------------------------------------------------

const handlers = {
  "ask-name"() {
    if (state.identity && state.attempts) {
      enter(state.identity);     // a reconnection: be who we were
    } else {
      $("chat").hidden = true;
      $("login").hidden = false;
      status("Connected: choose a name", "online");
      $("name").focus();
    }
  },
  welcome(e) {
    welcomed(e.name);
    if (state.identity && state.identity.register) {
      send({ type: "register", password: state.identity.password });
    }
  },
  done(e) {
    if (e.outcome === "logged-in") {
      if (!state.me) welcomed(e.name);
      state.me = e.name;
    }
    if (e.outcome === "registered" && state.identity) state.identity.register = false;
    if (e.outcome === "kicked-you" || e.outcome === "banned-you") {
      state.reconnect = false;
      state.ending = e.message;
    }
    notice(e.message);
  },
  refused(e) {
    if (!state.me) {            // choosing a name: say it next to the name box
      $("chat").hidden = true;
      $("login").hidden = false;
      $("login-error").textContent = e.message;
      state.attempts = 0;         // a person must choose now
    } else {
      notice(e.message);
    }
  },
  "room-entered"(e) {
    const c = conversation(e.room);
    c.topic = e.topic;
    if (!state.rooms.some((r) => key(r) === c.key)) state.rooms.push(e.room);
    if (e.joined || !state.current) show(c.key);
  },
  "room-left"(e) {
    state.rooms = state.rooms.filter((r) => key(r) !== key(e.room));
    forget(key(e.room));
  },
  users(e) {
    if (e.label === "members" && e.room) {
      const c = conversation(e.room);
      c.members = new Set(e.names);
      c.unlisted = e.total - e.names.length;   // a big room: the server lists the first ones
      if (c.key === state.current) drawMembers();
    } else {
      const where = e.room ? `in ${e.room}` : "online";
      notice(`Users ${where}: ${e.total} (${e.names.join(", ")})`);
    }
  },
  joined(e) {
    const c = conversation(e.room);
    c.members.add(e.name);
    if (c.key === state.current) drawMembers();
    notice(`${e.name} joined ${e.chat ? "the chat" : e.room}`, c);
  },
  left(e) {
    const c = conversation(e.room);
    c.members.delete(e.name);
    if (c.key === state.current) drawMembers();
    const why = e.reason === "quit" || e.reason === "closed" ? "" : ` (${e.reason})`;
    notice(`${e.name} left ${e.chat ? "the chat" : e.room}${why}`, c);
  },
  nick(e) {
    if (e.room) {
      const c = conversation(e.room);
      if (c.members.delete(e.old)) c.members.add(e.new);
      if (c.key === state.current) drawMembers();
      notice(`${e.old} is now known as ${e.new}`, c);
    } else {                    // our own rename
      state.me = e.new;
      if (state.identity) state.identity.name = e.new;
      notice(`You are now known as ${e.new}`);
      status(`Connected as ${e.new}`, "online");
    }
  },
  said(e) { message("said", e); },
  action(e) { message("action", e); },
  private(e) {
    const c = conversation(e.peer);
    const name = e.incoming ? e.peer : state.me;
    add(c, { kind: e.action ? "action" : "said", name, text: e.text, time: now() });
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
    notice(e.text ? `Topic of ${e.room}: ${e.text}` : `${e.room} has no topic.`);
  },
  away(e) {
    if (e.room) return;         // others' away news: shown by /whois, not in the log
    notice(e.text ? `You are away: ${e.text}` : "You are back.");
  },
  account() {},
  unheard(e) { notice(`Nobody else is in ${e.room} right now.`, conversation(e.room)); },
  history(e) { history(e); },
  rooms(e) {
    notice(`Rooms: ${e.total} (${e.rooms.map((r) => `${r.name} ${r.members}`).join(", ")})`);
  },
  whois(e) { notice(e.message); },
  help(e) {
    notice("Commands: " + e.commands.map((c) => c.usage).join("  ·  "));
  },
  goodbye() {
    state.reconnect = false;
    state.ending = "You left the chat.";
  },
  disconnected(e) {
    state.ending = e.message;
    if (e.reason !== "shutdown" && e.reason !== "slow") state.reconnect = false;
  },
  greeting() {},
};

function handle(event) {
  const handler = handlers[event.type];
  if (handler) handler(event);
}

function now() {
  return Date.now() / 1000;
}

function welcomed(name) {
  state.me = name;
  state.attempts = 0;
  state.ending = "";
  $("login").hidden = true;
  $("login-error").textContent = "";
  $("chat").hidden = false;
  status(`Connected as ${name}`, "online");
  // After a reconnection, go back to the rooms we were in (the lobby comes by itself);
  // each sends its recent history again, so what the page had of them is replaced.
  const rooms = state.rooms;
  state.rooms = [];
  for (const c of state.conversations.values()) {
    if (!c.room) continue;
    Object.assign(c, { lines: [], members: new Set(), oldest: null, more: false });
  }
  for (const room of rooms) {
    if (key(room) !== "#lobby") send({ type: "join", room });
  }
  drawLog();
  $("message").focus();
}

function message(kind, e) {
  const c = conversation(e.room);
  add(c, { kind, name: e.name, text: e.text, time: e.time || now() });
}

function history(e) {
  const c = conversation(e.title);
  const lines = e.entries
    .filter((x) => x.kind === "said" || x.kind === "action" || x.kind === "topic" || x.kind === "pm")
    .map((x) => ({
      kind: x.kind === "topic" ? "notice" : x.kind === "pm" ? "said" : x.kind,
      name: x.name,
      text: x.kind === "topic" ? `${x.name} set the topic: ${x.text}` : x.text,
      time: x.time,
      history: true,
    }));
  if (e.entries.length) c.oldest = Math.min(c.oldest ?? Infinity, e.entries[0].time);
  // A room's first history comes on joining; "load earlier" asks for a page at a time.
  c.more = c.room && e.entries.length > 0 && (!e.asked || e.entries.length >= HISTORY_PAGE);
  if (e.asked && c.room) {
    add(c, lines, { prepend: true });
    if (!lines.length) notice("No earlier messages.", c);
  } else {
    for (const line of lines) add(c, line);
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
  if (identity.register && !identity.password) {
    $("login-error").textContent = "To register a name, choose a password for it.";
    return;
  }
  $("login-error").textContent = "";
  enter(identity);
});

$("send").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const text = $("message").value;
  if (!text.trim()) return;
  if (typed(text)) $("message").value = "";
});

// One line from the message box; returns whether it was sent.
function typed(text) {
  const c = currentConversation();
  if (text.startsWith("/") && !text.startsWith("//")) {
    const [word, ...rest] = text.slice(1).split(" ");
    const args = rest.join(" ").trim();
    if (word.toLowerCase() === "quit") state.reconnect = false;
    if (word.toLowerCase() === "me" && c && !c.room && args) {
      return send({ type: "send-private", name: c.title, text: args, action: true });
    }
    const room = c && c.room ? c.title : state.rooms[0] || "";
    return send({ type: "command", line: text, room });
  }
  const line = text.startsWith("//") ? text.slice(1) : text;
  if (!c) return false;
  if (c.room) return send({ type: "say", room: c.title, text: line });
  return send({ type: "send-private", name: c.title, text: line });
}

$("join").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  let room = $("join-room").value.trim();
  if (!room) return;
  if (!room.startsWith("#")) room = "#" + room;
  if (send({ type: "join", room })) $("join-room").value = "";
});

$("leave").addEventListener("click", () => {
  const c = currentConversation();
  if (!c) return;
  if (c.room) send({ type: "leave", room: c.title }); else forget(c.key);
});

$("earlier").addEventListener("click", () => {
  const c = currentConversation();
  if (!c || !c.room) return;
  const ask = { type: "read-history", room: c.title, limit: HISTORY_PAGE };
  if (c.oldest !== null) ask.before = c.oldest;
  send(ask);
});

connect();

// On a phone the member list starts folded, under the messages.
if (matchMedia("(max-width: 640px)").matches) $("members-box").open = false;
