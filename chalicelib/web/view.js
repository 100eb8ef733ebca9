// What the screens of the holder's page share: the view state, mounting a view and moving
// between views, the header, showing a form's errors, keeping what a form held when the session
// ended, and what copies and 证书电子文件 share (opening a file, the log of checks). The screens
// are screen-*.js, identity.js, password.js and account.js; holder.js routes between them.

import { api, ApiError, session } from "./api.js";
import { announce, busy, h, replace, showMessage, token } from "./dom.js";
import { channelLabel, dateTime, resultLabel, waitText } from "./format.js";
import { t } from "./i18n.js";

export const state = {
  me: null,
  scenarios: null,
  returnTo: null,   // where to go after login, the identity proof or the notice
  flash: null,      // {text, username?}: what the login form shows once (after a reset, a deletion …)
  seq: 0,           // bumps on every view change; late answers for an old view are dropped
  timers: new Set(),
  firstRender: true,
  draft: null,      // {hash, forms: {key: {name: value}}}: what the open forms held when the session ended
};

// ---------------------------------------------------------------- moving between views

let router = () => {};

export function startRouter(route) {
  router = route;
  window.addEventListener("hashchange", route);
  route();
}

export function go(hash) {
  if (location.hash === hash) router();
  else location.hash = hash;
}

export function setHash(hash) {
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

export function stopTimers() {
  for (const timer of state.timers) window.clearTimeout(timer);
  state.timers.clear();
}

// A timeout that ends with the view it belongs to.
export function later(fn, ms) {
  const timer = window.setTimeout(() => { state.timers.delete(timer); fn(); }, ms);
  state.timers.add(timer);
}

export function mount(node, title) {
  document.getElementById("view").replaceChildren(node);
  setTitle(title);
  // Moving focus to the new view's heading tells a screen reader user the view changed;
  // on the first load the browser's own start position is kept.
  if (!state.firstRender) {
    const heading = node.querySelector("h1");
    if (heading) heading.focus();
  }
  state.firstRender = false;
}

export function view() {
  return document.getElementById("view");
}

export function setTitle(title) {
  document.title = t("site.title", { title });
}

export function current(seq) {
  return seq === state.seq;
}

// The first step the account still lacks - the identity proof (DOMAIN rule 1), then the
// notice (rule 2) - else where the holder was going. Takes a login answer or GET /me.
export function nextStep(account) {
  if (!account.identity_verified) return "#/identity";
  if (!account.notice_accepted) return "#/notice";
  const next = state.returnTo || "#/certificates";
  state.returnTo = null;
  return next;
}

// ---------------------------------------------------------------- the header and the session

export function showAccount(me) {
  document.getElementById("account").hidden = !me;
  document.getElementById("account-name").textContent = me ? me.name : "";
}

export async function loadMe() {
  if (!state.me) {
    state.me = await api("GET", "/me");
  }
  showAccount(state.me);
  return state.me;
}

// Ends the session on this side and shows the login form, with a message there when given.
export function leave(message) {
  session.clear();
  state.draft = null;
  state.me = null;
  state.returnTo = null;
  state.flash = message ? { text: message } : null;
  showAccount(null);
  go("#/login");
  if (message) announce(message);
}

// ---------------------------------------------------------------- forms

// One-time codes (API.md): 6 digits; the API sends at most one a minute to one address.
export const RESEND_SECONDS = 60;
export const SIX_DIGITS = /^\d{6}$/;

export function codeInput() {
  return h("input", { name: "code", type: "text", inputmode: "numeric", maxlength: "6",
    autocomplete: "one-time-code", spellcheck: "false", class: "input-code", required: true });
}

// Where a form shows an error that concerns no one field.
export function errorSlot() {
  return h("p", { class: "form-message", "data-role": "form-error", role: "alert", hidden: true });
}

export function formFields(form) {
  const values = {};
  for (const el of form.elements) {
    if (el.name && (el.type !== "radio" || el.checked)) values[el.name] = el.value;
  }
  return values;
}

export function clearFormErrors(root) {
  for (const el of root.querySelectorAll(".field-error")) showMessage(el, "");
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of root.querySelectorAll("[data-role=form-error]")) showMessage(el, "");
}

// The API's message, with what the holder needs to know to go on: the tries left before a
// lock, and how long a lock or a send limit lasts - unless the message already gives a figure.
export function errorText(error) {
  if (!(error instanceof ApiError)) return t("common.failed");
  const extra = [];
  const left = error.details.attempts_left;
  if (Number.isInteger(left) && left > 0 && !error.message.includes(String(left))) {
    extra.push(t("common.attempts_left", { n: left }));
  }
  if (error.retryAfter && error.status === 429) {
    const wait = waitText(error.retryAfter);
    // The API's own message may say how long already; the exact time is added unless it does.
    if (!error.message.includes(wait)) {
      extra.push(error.code === "account_locked" ? t("common.locked_for", { wait }) : t("common.retry_in", { wait }));
    }
  }
  return extra.length ? t("common.with_extra", { message: error.message, extra: extra.join(t("common.sep")) })
    : error.message;
}

// Shows an API error where the person is looking, unless a page-wide handler took it.
export function showError(el, error) {
  if (error instanceof ApiError && error.handled) return;
  showMessage(el, errorText(error));
}

// Shows the message in the field's error slot (`#<id>-error`) and marks the field; false when
// the field has no slot there.
export function markField(root, input, message, focus = true) {
  const slot = input && input.id ? root.querySelector(`#${input.id}-error`) : null;
  if (!slot) return false;
  showMessage(slot, message);
  input.setAttribute("aria-invalid", "true");
  if (focus) input.focus();
  return true;
}

// The server's message goes next to the field it concerns - the form's own table of codes
// that concern one of its fields, else details.field - or else above the form.
// A view's first load: what `load` answers, or undefined when it failed (its error then shown in
// `body`) or the view changed meanwhile - in both cases the caller stops there.
export async function loadView(body, seq, load) {
  try {
    const value = await load();
    return current(seq) ? value : undefined;
  } catch (error) {
    if (current(seq)) {
      const errorEl = h("p", { class: "form-message", role: "alert" });
      body.replaceChildren(errorEl);
      showError(errorEl, error);
    }
    return undefined;
  }
}

export function showFormError(root, form, error, fieldOfCode = {}) {
  if (error instanceof ApiError && error.handled) return;
  const field = error instanceof ApiError ? (fieldOfCode[error.code] || error.details.field) : null;
  const input = field ? form.elements.namedItem(field) : null;
  if (!markField(root, input, errorText(error))) showError(root.querySelector("[data-role=form-error]"), error);
}

// Checks before a request, all at once: [[name, message, pattern-or-test?]]. Every field that
// fails is marked with its message next to it, the first one focused; true when none fails.
export function checkFields(form, rules) {
  let first = null;
  for (const [name, message, check] of rules) {
    const input = form.elements.namedItem(name);
    if (!input) continue;
    const value = input.value.trim();
    let ok = Boolean(value);
    if (ok && check instanceof RegExp) ok = check.test(value);
    else if (ok && typeof check === "function") ok = check(value);
    if (!ok) {
      markField(form, input, message, false);
      if (!first) first = input;
    }
  }
  if (first) first.focus();
  return !first;
}

// ---------------------------------------------------------------- what a form held when the session ended

// Forms that opt in carry data-draft="<key>"; passwords are never kept.
export function keepDraft(hash) {
  const forms = {};
  for (const form of document.querySelectorAll("#view form[data-draft]")) {
    const values = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "password" || el.type === "file") continue;
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked) values[el.name] = el.value; }
      else values[el.name] = el.value;
    }
    forms[form.dataset.draft] = { values, open: !form.hidden };
  }
  state.draft = Object.keys(forms).length ? { hash, forms } : null;
}

// Puts back what the form held; true when there was something (the caller may open the form).
export function restoreDraft(form) {
  const draft = state.draft;
  if (!draft || draft.hash !== location.hash) return false;
  const kept = draft.forms[form.dataset.draft];
  if (!kept) return false;
  for (const el of form.elements) {
    if (!el.name || !(el.name in kept.values)) continue;
    if (el.type === "radio" || el.type === "checkbox") el.checked = el.value === kept.values[el.name];
    else el.value = kept.values[el.name];
  }
  delete draft.forms[form.dataset.draft];
  if (!Object.keys(draft.forms).length) state.draft = null;
  return kept.open;
}

// A resend button waits out the send limit, counting down in its label. It stays focusable
// (aria-disabled, not disabled: a disabled button drops keyboard focus); `waiting` tells
// its click handler to ignore a press meanwhile. A new countdown on the button replaces
// the one running.
export function countdown(button, label, seconds) {
  const end = Date.now() + seconds * 1000;
  const run = String(end);
  button.dataset.countdown = run;
  button.setAttribute("aria-disabled", "true");
  const tick = () => {
    if (button.dataset.countdown !== run) return;
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) {
      delete button.dataset.countdown;
      button.removeAttribute("aria-disabled");
      button.textContent = label;
      return;
    }
    button.textContent = t("common.wait_suffix", { label, wait: waitText(left) });
    later(tick, end - Date.now() - (left - 1) * 1000);
  };
  tick();
}

export function waiting(button) {
  return button.getAttribute("aria-disabled") === "true";
}

// ---------------------------------------------------------------- files and their checks

// A 证书电子文件 is rendered and signed on its first download: while it is not ready the API
// answers 503 file_not_ready with the seconds to wait. Asked this many times in all.
const FILE_TRIES = 5;
const MAX_FILE_WAIT_SECONDS = 10;

function pause(ms) {
  return new Promise((resolve) => later(resolve, ms)); // never resolves once the view is left
}

async function fileLink(url, statusEl) {
  for (let tries = 1; ; tries += 1) {
    try {
      return await api("GET", url);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "file_not_ready") || tries >= FILE_TRIES) throw error;
      if (statusEl) {
        replace(statusEl, h("span", { class: "spinner", "aria-hidden": "true" }), t("efile.making"));
      }
      await pause(Math.min(error.retryAfter || 2, MAX_FILE_WAIT_SECONDS) * 1000);
    }
  }
}

// Opens a presigned link: inline in a new tab (the browser's PDF viewer), or as a download.
// `statusEl` (a live region) says so while the file is still being made.
export async function openFile(path, disposition, button, errorEl, statusEl) {
  showMessage(errorEl, "");
  await busy(button, async () => {
    let link;
    try {
      link = await fileLink(`${path}?disposition=${disposition}`, statusEl);
    } catch (error) {
      showError(errorEl, error);
      return;
    } finally {
      if (statusEl) replace(statusEl);
    }
    if (disposition === "attachment") {
      window.location.assign(link.url); // Content-Disposition: attachment - the page stays
      return;
    }
    const opened = window.open(link.url, "_blank");
    if (opened) {
      try { opened.opener = null; } catch { /* already cross-origin */ }
    } else {
      // A blocked pop-up (or one asked for too long after the click): offer the link itself.
      replace(errorEl, t("file.blocked"),
        h("a", { href: link.url, target: "_blank", rel: "noopener noreferrer" }, t("file.open")), t("file.blocked_end"));
      errorEl.hidden = false;
    }
  });
}

// The 查验记录 disclosure of a document (an annotated copy or a 证书电子文件): `path` answers
// {count, items}; read the first time it opens. `what` names the document for an empty log.
export function verificationLog(path, { open = false, what }) {
  const body = h("div", { class: "log-body" }, h("p", { class: "loading" }, t("common.loading")));
  const summary = h("summary", null, t("log.summary"));
  const details = h("details", { class: "verification-log" }, summary, body);
  let loaded = false;
  const load = async () => {
    if (loaded) return;
    loaded = true;
    let log;
    try {
      log = await api("GET", path);
    } catch (error) {
      loaded = false;
      const errorEl = h("p", { class: "form-message", role: "alert" });
      replace(body, errorEl);
      showError(errorEl, error);
      return;
    }
    summary.textContent = t("log.summary_count", { n: log.count });
    if (!log.items.length) {
      replace(body, h("p", null, t("log.empty", { what })));
      return;
    }
    replace(body, h("table", { class: "log-table" },
      h("caption", { class: "visually-hidden" }, t("log.caption")),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, t("log.at")), h("th", { scope: "col" }, t("log.channel")),
        h("th", { scope: "col" }, t("log.result")))),
      h("tbody", null, log.items.map((item) => h("tr", null,
        h("td", null, token(dateTime(item.at))),
        h("td", null, channelLabel(item.channel)),
        h("td", null, resultLabel(item.result)))))));
  };
  details.addEventListener("toggle", () => { if (details.open) load(); });
  details.open = open; // opening fires toggle, which loads it
  return details;
}
