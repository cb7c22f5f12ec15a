// @ts-check
// The clinic's inbox: plain JavaScript, no build step, no dependency. Types are JSDoc comments,
// checked with `adapters/inbox/check.sh` (TypeScript's `--checkJs`) when Node is at hand.
//
// The staff key lives only in sessionStorage (this tab, until it closes). Every request
// carries it as `Authorization: Bearer`. Live updates come from `GET /conversations/events`,
// read with fetch() (EventSource cannot send the header).
"use strict";

/**
 * @typedef {{ id: string, identity: string, channel: "chat" | "whatsapp", display_name?: string }} User
 * @typedef {{ id: string, direction: "incoming" | "outgoing", body: string, agent?: string, created_at: string }} LastMessage
 * @typedef {{ id: string, user: User, state: "bot" | "waiting_for_human", active_agent: string,
 *   flag_reason?: string, last_message?: LastMessage, unread: number, started_at: string,
 *   last_activity_at: string, ended_at?: string }} Summary
 * @typedef {{ url: string, kind: "image" | "audio" | "other", content_type?: string, transcript?: string }} Media
 * @typedef {{ id: string, conversation_id?: string, direction: "incoming" | "outgoing", agent?: string,
 *   body: string, media: Media[], delivery_status?: string, error?: string, created_at: string,
 *   pending?: boolean }} Message
 * @typedef {{ conversation: Summary, messages: Message[], next_cursor: string | null }} Detail
 */

const KEY = "inbox.key";
const CHAT_KEY = "inbox.chatKey";
const AUTHOR = "inbox.author";
const PAGE = 200;
const OVERSCAN = 6;

/** @param {string} id */
function $(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found;
}
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ ($(id));

/**
 * An element with text and attributes; text is never parsed as HTML.
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string | null | undefined)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** An error the API answered, with its status and message. */
class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls the API with the signed-in key.
 * @param {string} path
 * @param {RequestInit & { key?: string }} [init]
 */
async function api(path, init = {}) {
  const key = init.key ?? sessionStorage.getItem(KEY) ?? "";
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${key}`);
  if (init.body) headers.set("Content-Type", "application/json");
  let resp;
  try {
    resp = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, "The service cannot be reached. Check the connection and try again.");
  }
  if (resp.ok) return resp;
  let message = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch {
    /* not JSON: keep the status line */
  }
  if (resp.status === 401 && !init.key) signOut("Your key is no longer accepted; sign in again.");
  throw new ApiError(resp.status, message);
}

/** @param {unknown} err */
function describe(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return `This key was not accepted (401): ${err.message}`;
    if (err.status === 403) return `This key may not do that (403): ${err.message}`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** @param {string} iso */
function when(iso) {
  const at = new Date(iso);
  const today = new Date();
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return at.toDateString() === today.toDateString()
    ? time
    : `${at.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

/** @param {User} user */
const userName = (user) => user.display_name || user.identity;

/**
 * Who wrote a message, in words: the user, Anna, a specialist, the guardrail, a person.
 * @param {Message} m
 * @param {User} [user]
 * @returns {{ label: string, kind: string }}
 */
function author(m, user) {
  if (m.direction === "incoming") return { label: user ? userName(user) : "User", kind: "user" };
  const agent = m.agent || "";
  if (agent.startsWith("human:")) return { label: `${agent.slice(6)} (person)`, kind: "person" };
  if (agent === "guardrail") return { label: "Guardrail", kind: "guardrail" };
  if (agent === "system") return { label: "System notice", kind: "system" };
  if (agent === "anna" || agent === "") return { label: "Anna", kind: "agent" };
  return { label: `${agent.charAt(0).toUpperCase()}${agent.slice(1)} (specialist)`, kind: "agent" };
}

// ---------------------------------------------------------------------------------------------
// Sign-in

function signedIn() {
  $("signin").hidden = true;
  $("tabs").hidden = false;
  $("sign-out").hidden = false;
  selectTab("inbox");
  inbox.start();
}

/** @param {string} [message] */
function signOut(message) {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(CHAT_KEY);
  inbox.stop();
  for (const id of ["view-inbox", "view-playground", "tabs", "sign-out", "live"]) $(id).hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  input("key").value = "";
  input("key").focus();
}

async function signIn(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const key = input("key").value.trim();
  const error = $("signin-error");
  error.textContent = "";
  if (!key) {
    error.textContent = "Enter a staff key.";
    return;
  }
  try {
    await api("/conversations?limit=1", { key });
  } catch (err) {
    error.textContent =
      err instanceof ApiError && err.status === 401
        ? "This key was not accepted: it is wrong, revoked or expired."
        : err instanceof ApiError && err.status === 403
          ? "This key does not have the admin scope needed for the inbox."
          : describe(err);
    input("key").select();
    return;
  }
  sessionStorage.setItem(KEY, key);
  signedIn();
}

// ---------------------------------------------------------------------------------------------
// Tabs

/** @param {"inbox" | "playground"} name */
function selectTab(name) {
  for (const tab of ["inbox", "playground"]) {
    const on = tab === name;
    const button = $(`tab-${tab}`);
    button.setAttribute("aria-selected", String(on));
    button.tabIndex = on ? 0 : -1;
    $(`view-${tab}`).hidden = !on;
  }
  if (name === "playground") playground.show();
}

function tabKeys(/** @type {KeyboardEvent} */ event) {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const next = $("tab-inbox").getAttribute("aria-selected") === "true" ? "playground" : "inbox";
  selectTab(next);
  $(`tab-${next}`).focus();
}

// ---------------------------------------------------------------------------------------------
// The conversation list: red flags pinned first, then newest activity, rendered as a window of
// rows over a tall spacer so thousands of conversations scroll smoothly.

const inbox = {
  /** @type {Summary[]} */ flagged: [],
  /** @type {Summary[]} */ others: [],
  /** @type {string | null} */ cursor: null,
  loading: false,
  /** @type {string | null} */ open: null,
  active: 0,
  /** @type {AbortController | null} */ events: null,
  /** @type {Set<string>} */ seenFlags: new Set(),

  /** Every row in display order. */
  rows() {
    return [...this.flagged, ...this.others];
  },

  filters() {
    const params = new URLSearchParams();
    const state = /** @type {HTMLSelectElement} */ ($("filter-state")).value;
    const channel = /** @type {HTMLSelectElement} */ ($("filter-channel")).value;
    if (state) params.set("state", state);
    if (channel) params.set("channel", channel);
    return params;
  },

  /** @param {Summary} s */
  matches(s) {
    const params = this.filters();
    if (params.get("state") && s.state !== params.get("state")) return false;
    if (params.get("channel") && s.user.channel !== params.get("channel")) return false;
    if (input("filter-flagged").checked && !s.flag_reason) return false;
    return true;
  },

  async start() {
    $("view-inbox").hidden = false;
    await this.reload();
    this.listen();
  },

  stop() {
    this.events?.abort();
    this.events = null;
    this.flagged = [];
    this.others = [];
    this.open = null;
  },

  async reload() {
    this.cursor = null;
    $("list-error").textContent = "";
    try {
      const flagged = this.filters();
      flagged.set("flagged", "true");
      flagged.set("limit", String(PAGE));
      const [pinned, rest] = await Promise.all([
        api(`/conversations?${flagged}`).then((r) => r.json()),
        input("filter-flagged").checked ? null : this.page(null),
      ]);
      this.flagged = pinned.conversations;
      for (const s of this.flagged) this.seenFlags.add(s.id);
      this.others = rest ? rest.conversations : [];
      this.cursor = rest ? rest.next_cursor : null;
    } catch (err) {
      $("list-error").textContent = `The conversations could not be loaded: ${describe(err)}`;
    }
    this.render();
  },

  /** @param {string | null} cursor */
  async page(cursor) {
    const params = this.filters();
    params.set("flagged", "false");
    params.set("limit", String(PAGE));
    if (cursor) params.set("cursor", cursor);
    return (await api(`/conversations?${params}`)).json();
  },

  async more() {
    if (this.loading || !this.cursor) return;
    this.loading = true;
    try {
      const next = await this.page(this.cursor);
      const known = new Set(this.others.map((s) => s.id));
      this.others.push(...next.conversations.filter((/** @type {Summary} */ s) => !known.has(s.id)));
      this.cursor = next.next_cursor;
    } catch (err) {
      $("list-error").textContent = `More conversations could not be loaded: ${describe(err)}`;
    } finally {
      this.loading = false;
    }
    this.render();
  },

  /** A conversation changed: put it where it now belongs. @param {Summary} s */
  upsert(s) {
    this.flagged = this.flagged.filter((x) => x.id !== s.id);
    this.others = this.others.filter((x) => x.id !== s.id);
    if (this.matches(s)) {
      const into = s.flag_reason ? this.flagged : this.others;
      const at = into.findIndex((x) => x.last_activity_at < s.last_activity_at);
      into.splice(at < 0 ? into.length : at, 0, s);
    }
    if (s.flag_reason && !this.seenFlags.has(s.id)) {
      this.seenFlags.add(s.id);
      const alert = $("alert");
      alert.textContent = `Red flag (${s.flag_reason}): ${userName(s.user)} needs a person now.`;
      alert.hidden = false;
    }
    this.render();
    if (s.id === this.open) conversation.refresh();
  },

  render() {
    const rows = this.rows();
    const list = $("list");
    const rowHeight = $("list-spacer").offsetParent
      ? parseFloat(getComputedStyle(list).getPropertyValue("--row")) || 84
      : 84;
    $("list-spacer").style.height = `${rows.length * rowHeight}px`;
    const first = Math.max(0, Math.floor(list.scrollTop / rowHeight) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((list.scrollTop + list.clientHeight) / rowHeight) + OVERSCAN);
    // Only the rows in view (and a few around) are in the page, in display order.
    const shown = [];
    for (let i = first; i < last; i++) {
      const node = this.row(rows[i], i);
      node.style.top = `${i * rowHeight}px`;
      shown.push(node);
    }
    list.replaceChildren($("list-spacer"), ...shown);
    const flags = this.flagged.length;
    $("list-count").textContent =
      `${rows.length}${this.cursor ? "+" : ""} conversations` +
      (flags ? `, ${flags} red-flagged shown first` : "");
    list.setAttribute("aria-activedescendant", rows[this.active] ? `row-${rows[this.active].id}` : "");
    if (this.cursor && last >= rows.length - OVERSCAN) this.more();
  },

  /**
   * One row of the list.
   * @param {Summary} s @param {number} index
   */
  row(s, index) {
    const last = s.last_message;
    const preview = last
      ? `${last.direction === "outgoing" ? `${author(/** @type {Message} */ ({ ...last, media: [] })).label}: ` : ""}${last.body}`
      : "No message yet";
    const tags = el("span", { class: "tags" }, [
      s.flag_reason ? el("span", { class: "tag flag" }, [`Red flag: ${s.flag_reason}`]) : null,
      s.state === "waiting_for_human" ? el("span", { class: "tag wait" }, ["Waiting for a person"]) : null,
      el("span", { class: "tag" }, [`Agent: ${s.active_agent}`]),
      el("span", { class: "tag" }, [s.user.channel === "whatsapp" ? "WhatsApp" : "App chat"]),
    ]);
    const side = el("span", { class: "side" }, [
      s.unread ? el("span", { class: "tag unread", "aria-label": `${s.unread} unread` }, [String(s.unread)]) : null,
      el("time", { class: "time", datetime: s.last_activity_at }, [when(s.last_activity_at)]),
    ]);
    const fresh = el(
      "div",
      {
        class: `row${s.flag_reason ? " flagged" : ""}${index === this.active ? " active" : ""}`,
        role: "option",
        id: `row-${s.id}`,
        "aria-selected": String(s.id === this.open),
        "aria-posinset": String(index + 1),
        "aria-setsize": String(this.rows().length),
        "data-id": s.id,
        "data-testid": "conversation-row",
      },
      [
        el("span", { class: "name" }, [userName(s.user)]),
        side,
        el("span", { class: "last" }, [preview]),
        tags,
      ],
    );
    return fresh;
  },

  /** @param {number} index */
  focusRow(index) {
    const rows = this.rows();
    if (!rows.length) return;
    this.active = Math.max(0, Math.min(rows.length - 1, index));
    const list = $("list");
    const rowHeight = parseFloat(getComputedStyle(list).getPropertyValue("--row")) || 84;
    const top = this.active * rowHeight;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + rowHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + rowHeight - list.clientHeight;
    this.render();
  },

  /** @param {KeyboardEvent} event */
  keys(event) {
    const rows = this.rows();
    if (event.key === "ArrowDown") this.focusRow(this.active + 1);
    else if (event.key === "ArrowUp") this.focusRow(this.active - 1);
    else if (event.key === "Home") this.focusRow(0);
    else if (event.key === "End") this.focusRow(rows.length - 1);
    else if ((event.key === "Enter" || event.key === " ") && rows[this.active]) conversation.show(rows[this.active].id);
    else return;
    event.preventDefault();
  },

  /** Follows `GET /conversations/events`; reconnects with a growing pause and catches up. */
  async listen() {
    const controller = new AbortController();
    this.events = controller;
    let pause = 1000;
    while (!controller.signal.aborted) {
      const live = $("live");
      live.hidden = false;
      try {
        const resp = await api("/conversations/events", {
          signal: controller.signal,
          headers: { Accept: "text/event-stream" },
        });
        live.textContent = "Live";
        live.className = "live on";
        pause = 1000;
        await readEvents(resp, (data) => {
          /** @type {{ changed_at: string, conversation: Summary }} */
          const event = JSON.parse(data);
          this.upsert(event.conversation);
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        console.warn("live updates interrupted:", err);
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
          live.textContent = "Not live";
          return;
        }
      }
      if (controller.signal.aborted) return;
      live.textContent = "Reconnecting…";
      live.className = "live off";
      await new Promise((done) => setTimeout(done, pause));
      pause = Math.min(pause * 2, 15000);
      await this.reload();
    }
  },
};

/**
 * Reads a Server-Sent Events body, calling `onData` with each event's data.
 * @param {Response} resp @param {(data: string, event: string) => void} onData
 */
async function readEvents(resp, onData) {
  if (!resp.body) return;
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let data = [];
      let name = "message";
      for (const line of block.split("\n")) {
        if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        else if (line.startsWith("event:")) name = line.slice(6).trim();
      }
      if (data.length) onData(data.join("\n"), name);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One conversation

const conversation = {
  /** @type {Detail | null} */ detail: null,
  /** @type {Message[]} */ messages: [],
  /** @type {string | null} */ older: null,
  /** @type {Message[]} */ pending: [],
  refreshing: false,
  again: false,

  /** @param {string} id */
  async show(id) {
    inbox.open = id;
    this.messages = [];
    this.pending = [];
    this.older = null;
    $("view-inbox").classList.add("reading");
    $("conv-empty").hidden = true;
    $("conv").hidden = false;
    $("conv-error").textContent = "";
    $("messages").replaceChildren();
    inbox.render();
    await this.refresh();
    input("reply-text").focus();
  },

  /** Re-reads the newest page; one request at a time, one more if asked meanwhile. */
  async refresh() {
    const id = inbox.open;
    if (!id) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    try {
      /** @type {Detail} */
      const detail = await (await api(`/conversations/${id}?limit=${PAGE}`)).json();
      if (inbox.open !== id) return;
      this.detail = detail;
      const byId = new Map(this.messages.map((m) => [m.id, m]));
      for (const m of detail.messages) byId.set(m.id, m);
      this.messages = [...byId.values()].sort(
        (a, b) => a.created_at.localeCompare(b.created_at) || (a.direction === "incoming" ? -1 : 1),
      );
      if (this.older === null) this.older = detail.next_cursor;
      this.render();
      const s = detail.conversation;
      const shown = inbox.rows().find((x) => x.id === s.id);
      if (shown && shown.unread) {
        shown.unread = 0;
        inbox.render();
      }
    } catch (err) {
      $("conv-error").textContent = `This conversation could not be loaded: ${describe(err)}`;
    } finally {
      this.refreshing = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    }
  },

  async loadOlder() {
    if (!inbox.open || !this.older) return;
    try {
      /** @type {Detail} */
      const page = await (await api(`/conversations/${inbox.open}?limit=${PAGE}&cursor=${encodeURIComponent(this.older)}`)).json();
      this.messages = [...page.messages.reverse(), ...this.messages];
      this.older = page.next_cursor;
      this.render(false);
    } catch (err) {
      $("conv-error").textContent = `Older messages could not be loaded: ${describe(err)}`;
    }
  },

  render(stick = true) {
    if (!this.detail) return;
    const s = this.detail.conversation;
    $("conv-title").textContent = userName(s.user);
    $("conv-meta").textContent =
      `${s.user.identity} · ${s.user.channel === "whatsapp" ? "WhatsApp" : "App chat"} · ` +
      (s.state === "waiting_for_human" ? "a person holds it, the bot is silent" : `the bot answers (${s.active_agent})`) +
      (s.ended_at ? " · ended" : "");
    const flag = $("conv-flag");
    flag.hidden = !s.flag_reason;
    flag.textContent = s.flag_reason ? `⚠ Red flag: ${s.flag_reason}` : "";
    /** @type {HTMLButtonElement} */ ($("take-over")).disabled = s.state === "waiting_for_human";
    /** @type {HTMLButtonElement} */ ($("release")).disabled = s.state === "bot";
    $("older").hidden = !this.older;
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...[...this.messages, ...this.pending].map((m) => this.message(m, s.user)));
    if (stick && atBottom) list.scrollTop = list.scrollHeight;
  },

  /** @param {Message} m @param {User} user */
  message(m, user) {
    const who = author(m, user);
    const media = m.media.map((item) => {
      if (item.kind === "image") {
        return el("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, [
          el("img", { src: item.url, alt: "Image sent with the message", loading: "lazy" }),
        ]);
      }
      if (item.kind === "audio") {
        return el("div", {}, [
          el("audio", { src: item.url, controls: "", preload: "none", "aria-label": "Voice note" }),
          el("p", { class: "transcript" }, [item.transcript ? `Transcript: “${item.transcript}”` : "Voice note (no transcript)"]),
        ]);
      }
      return el("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, [`Attachment (${item.content_type || "file"})`]);
    });
    return el(
      "li",
      {
        class: `msg ${m.direction} ${who.kind}`,
        "data-testid": "message",
        "data-agent": m.agent || "",
        "data-id": m.id,
      },
      [
        el("div", { class: "by" }, [
          el("span", {}, [who.label]),
          el("time", { datetime: m.created_at }, [when(m.created_at)]),
        ]),
        m.body ? el("p", { class: "body" }, [m.body]) : null,
        ...media,
        m.direction === "outgoing" ? this.status(m, user) : null,
      ],
    );
  },

  /** The delivery status of a reply, with a re-drive for a failed one. @param {Message} m @param {User} user */
  status(m, user) {
    if (m.pending) return el("p", { class: "status", "data-testid": "status" }, ["Sending…"]);
    const status = m.delivery_status || (m.error ? "failed" : "");
    if (!status) return m.error ? el("p", { class: "status failed" }, [m.error]) : null;
    const failed = status === "failed" || status === "undelivered";
    const words = { queued: "Queued", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Failed", undelivered: "Not delivered" };
    // A failed WhatsApp reply can be sent again: a person's at once as it was written, a bot's
    // by its job (it shows as queued until a worker sends it; the live feed tells the rest).
    const retry =
      failed && user.channel === "whatsapp"
        ? el("button", { type: "button", class: "secondary", "data-retry": m.id }, ["Send again"])
        : null;
    return el("p", { class: `status${failed ? " failed" : ""}`, "data-testid": "status" }, [
      /** @type {Record<string, string>} */ (words)[status] || status,
      failed && m.error ? ` — ${m.error}` : "",
      retry,
    ]);
  },

  /** @param {"takeover" | "release"} action */
  async change(action) {
    const id = inbox.open;
    if (!id) return;
    $("conv-error").textContent = "";
    try {
      await api(`/conversations/${id}/${action}`, { method: "POST" });
    } catch (err) {
      $("conv-error").textContent = `That did not work: ${describe(err)}`;
    }
    await this.refresh();
    if (this.detail) inbox.upsert(this.detail.conversation);
  },

  async reply(/** @type {Event} */ event) {
    event.preventDefault();
    const id = inbox.open;
    const box = /** @type {HTMLTextAreaElement} */ ($("reply-text"));
    const text = box.value.trim();
    if (!id || !text) return;
    const name = input("reply-author").value.trim();
    if (name) sessionStorage.setItem(AUTHOR, name);
    /** @type {Message} */
    const draft = {
      id: `draft-${Date.now()}`,
      direction: "outgoing",
      agent: `human:${name || "you"}`,
      body: text,
      media: [],
      created_at: new Date().toISOString(),
      pending: true,
    };
    this.pending.push(draft);
    box.value = "";
    this.render();
    $("messages").scrollTop = $("messages").scrollHeight;
    try {
      const resp = await api(`/conversations/${id}/messages`, {
        method: "POST",
        body: JSON.stringify(name ? { text, author: name } : { text }),
      });
      /** @type {Message} */
      const stored = await resp.json();
      this.messages.push(stored);
    } catch (err) {
      box.value = text;
      $("conv-error").textContent = `The reply was not sent: ${describe(err)}`;
    } finally {
      this.pending = this.pending.filter((m) => m !== draft);
      this.render();
    }
    await this.refresh();
  },

  /** Sends a failed reply again. @param {string} message */
  async retry(message) {
    const id = inbox.open;
    if (!id) return;
    $("conv-error").textContent = "";
    try {
      /** @type {Message} */
      const sent = await (await api(`/conversations/${id}/messages/${message}/retry`, { method: "POST" })).json();
      this.messages = this.messages.map((m) => (m.id === sent.id ? sent : m));
      this.render();
    } catch (err) {
      $("conv-error").textContent = `The reply was not sent again: ${describe(err)}`;
    }
    await this.refresh();
  },

  close() {
    inbox.open = null;
    $("view-inbox").classList.remove("reading");
    $("conv").hidden = true;
    $("conv-empty").hidden = false;
    inbox.render();
    $("list").focus();
  },
};

// ---------------------------------------------------------------------------------------------
// Playground: a test user chatting through /chat/stream.

const playground = {
  /** @type {string | null} */ lastAgent: null,
  busy: false,

  show() {
    const user = input("pg-user");
    if (!user.value) user.value = `playground-${Math.random().toString(36).slice(2, 8)}`;
    input("pg-key").value = sessionStorage.getItem(CHAT_KEY) || "";
  },

  /** @param {string} text @param {string} kind */
  note(text, kind = "note") {
    const item = el("li", { class: kind, "data-testid": "pg-note" }, [text]);
    $("pg-log").append(item);
    $("pg-log").scrollTop = $("pg-log").scrollHeight;
    return item;
  },

  async send(/** @type {Event} */ event) {
    event.preventDefault();
    const box = /** @type {HTMLTextAreaElement} */ ($("pg-text"));
    const content = box.value.trim();
    if (!content || this.busy) return;
    const chatKey = input("pg-key").value.trim();
    if (chatKey) sessionStorage.setItem(CHAT_KEY, chatKey);
    else sessionStorage.removeItem(CHAT_KEY);
    this.busy = true;
    /** @type {HTMLButtonElement} */ ($("pg-send")).disabled = true;
    $("pg-error").textContent = "";
    box.value = "";
    const log = $("pg-log");
    log.append(el("li", { class: "msg incoming user" }, [el("div", { class: "by" }, ["You"]), el("p", { class: "body" }, [content])]));
    const body = el("p", { class: "body cursor", "data-testid": "pg-reply" }, []);
    const by = el("div", { class: "by" }, ["Assistant"]);
    const bubble = el("li", { class: "msg outgoing agent" }, [by, body]);
    log.append(bubble);
    const status = $("pg-status");
    let events = 0;
    try {
      const resp = await api("/chat/stream", {
        method: "POST",
        body: JSON.stringify({ content, user_id: input("pg-user").value.trim() || undefined }),
        headers: { Accept: "text/event-stream" },
        key: chatKey || sessionStorage.getItem(KEY) || "",
      });
      await readEvents(resp, (data) => {
        const chunk = JSON.parse(data);
        events += 1;
        status.textContent = `${events} events`;
        if (!chunk.is_final) {
          body.textContent += chunk.content;
          log.scrollTop = log.scrollHeight;
          return;
        }
        body.classList.remove("cursor");
        const agent = chunk.agent || null;
        by.textContent = agent ? author({ id: "", direction: "outgoing", agent, body: "", media: [], created_at: "" }).label : "Assistant";
        if (agent && this.lastAgent && agent !== this.lastAgent) this.note(`Handed off: ${this.lastAgent} → ${agent}`);
        if (agent) this.lastAgent = agent;
        if (chunk.state === "waiting_for_human") this.note("A person takes over now; the assistant stays silent.");
        if (chunk.error) this.note(`Error: ${chunk.error.message}`, "error");
        if (chunk.cut_off) this.note(`The reply was cut off (${chunk.cut_off.reason || "limit"}).`);
        this.note(`Final event · agent ${agent || "none"} · conversation ${chunk.conversation_id || "?"}`);
        bubble.setAttribute("data-final", "true");
        status.textContent = `${events} events, final received`;
      });
    } catch (err) {
      bubble.remove();
      $("pg-error").textContent =
        err instanceof ApiError && err.status === 403
          ? "This key may not chat (it needs the chat scope): enter a chat key above."
          : `The message could not be sent: ${describe(err)}`;
    } finally {
      body.classList.remove("cursor");
      this.busy = false;
      /** @type {HTMLButtonElement} */ ($("pg-send")).disabled = false;
      box.focus();
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Wiring

/** Enter sends, Shift+Enter adds a line. @param {HTMLElement} box @param {HTMLFormElement} form */
function enterSends(box, form) {
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}

function boot() {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("tab-inbox").addEventListener("click", () => selectTab("inbox"));
  $("tab-playground").addEventListener("click", () => selectTab("playground"));
  $("tabs").addEventListener("keydown", tabKeys);
  $("filters").addEventListener("change", () => {
    $("list").scrollTop = 0;
    inbox.active = 0;
    inbox.reload();
  });
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  const list = $("list");
  let frame = 0;
  list.addEventListener("scroll", () => {
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      inbox.render();
    });
  }, { passive: true });
  list.addEventListener("keydown", (event) => inbox.keys(event));
  list.addEventListener("click", (event) => {
    const row = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest(".row"));
    if (!row || !row.dataset.id) return;
    inbox.active = inbox.rows().findIndex((s) => s.id === row.dataset.id);
    conversation.show(row.dataset.id);
  });
  window.addEventListener("resize", () => inbox.render());
  $("alert").addEventListener("click", () => ($("alert").hidden = true));
  $("take-over").addEventListener("click", () => conversation.change("takeover"));
  $("release").addEventListener("click", () => conversation.change("release"));
  $("older").addEventListener("click", () => conversation.loadOlder());
  $("back").addEventListener("click", () => conversation.close());
  $("messages").addEventListener("click", (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest("[data-retry]");
    if (!button) return;
    // One click, one re-drive: the button comes back only if the reply fails again.
    if (button instanceof HTMLButtonElement) button.disabled = true;
    conversation.retry(button.getAttribute("data-retry") || "");
  });
  const replyForm = /** @type {HTMLFormElement} */ ($("reply-form"));
  replyForm.addEventListener("submit", (event) => conversation.reply(event));
  enterSends($("reply-text"), replyForm);
  input("reply-author").value = sessionStorage.getItem(AUTHOR) || "";
  const pgForm = /** @type {HTMLFormElement} */ ($("pg-form"));
  pgForm.addEventListener("submit", (event) => playground.send(event));
  enterSends($("pg-text"), pgForm);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && inbox.open && !$("view-inbox").hidden) conversation.close();
  });
  if (sessionStorage.getItem(KEY)) signedIn();
  else input("key").focus();
}

boot();
