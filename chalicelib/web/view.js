// What the screens of the holder's page share: the view state, mounting a view and moving
// between views, the header, showing a form's errors, and what copies and 证书电子文件 share
// (opening a file, the log of checks). The screens are holder.js (login, registration, notice,
// certificates), identity.js, password.js and account.js.

import { api, ApiError, session } from "./api.js";
import { announce, busy, h, replace, showMessage } from "./dom.js";
import { CHANNEL_LABELS, RESULT_LABELS, dateTime, waitText } from "./format.js";

export const state = {
  me: null,
  scenarios: null,
  returnTo: null,   // where to go after login, the identity proof or the notice
  flash: null,      // {text, username?}: what the login form shows once (after a reset, a deletion …)
  seq: 0,           // bumps on every view change; late answers for an old view are dropped
  timers: new Set(),
  firstRender: true,
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
  document.title = `${title} · 专业技术人员职业资格证书查询验证系统`;
  // Moving focus to the new view's heading tells a screen reader user the view changed;
  // on the first load the browser's own start position is kept.
  if (!state.firstRender) {
    const heading = node.querySelector("h1");
    if (heading) heading.focus();
  }
  state.firstRender = false;
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
  if (!(error instanceof ApiError)) return "操作失败，请稍后再试";
  if (/\d/.test(error.message)) return error.message;
  const extra = [];
  const left = error.details.attempts_left;
  if (Number.isInteger(left) && left > 0) extra.push(`还可尝试 ${left} 次`);
  if (error.retryAfter && error.status === 429) {
    extra.push(error.code === "account_locked" ? `剩余锁定时间 ${waitText(error.retryAfter)}`
      : `请 ${waitText(error.retryAfter)}后再试`);
  }
  return extra.length ? `${error.message}（${extra.join("，")}）` : error.message;
}

// Shows an API error where the person is looking, unless a page-wide handler took it.
export function showError(el, error) {
  if (error instanceof ApiError && error.handled) return;
  showMessage(el, errorText(error));
}

// Shows the message in the field's error slot (`#<id>-error`) and marks the field; false when
// the field has no slot there.
function markField(root, input, message) {
  const slot = input && input.id ? root.querySelector(`#${input.id}-error`) : null;
  if (!slot) return false;
  showMessage(slot, message);
  input.setAttribute("aria-invalid", "true");
  input.focus();
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

// Checks before a request that the named fields are filled in: [[name, message, pattern?]].
// Marks the first one that is not and answers false.
export function checkFields(form, rules) {
  for (const [name, message, pattern] of rules) {
    const value = form.elements.namedItem(name).value.trim();
    if (!value || (pattern && !pattern.test(value))) {
      markField(form, form.elements.namedItem(name), message);
      return false;
    }
  }
  return true;
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
    button.textContent = `${label}（${waitText(left)}）`;
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
        replace(statusEl, h("span", { class: "spinner", "aria-hidden": "true" }), "证书电子文件正在生成…");
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
      replace(errorEl, "浏览器阻止了新窗口，请点击 ",
        h("a", { href: link.url, target: "_blank", rel: "noopener noreferrer" }, "打开文件"), "（5 分钟内有效）。");
      errorEl.hidden = false;
    }
  });
}

// The 查验记录 disclosure of a document (an annotated copy or a 证书电子文件): `path` answers
// {count, items}; read the first time it opens. `what` names the document for an empty log.
export function verificationLog(path, { open = false, what }) {
  const body = h("div", { class: "log-body" }, h("p", { class: "loading" }, "正在加载…"));
  const summary = h("summary", null, "查验记录");
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
    summary.textContent = `查验记录（共 ${log.count} 次）`;
    if (!log.items.length) {
      replace(body, h("p", null, `尚无人查验此${what}。`));
      return;
    }
    replace(body, h("table", { class: "log-table" },
      h("caption", { class: "visually-hidden" }, "查验记录，最新的在前"),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "查验时间"), h("th", { scope: "col" }, "查验方式"),
        h("th", { scope: "col" }, "查验结果"))),
      h("tbody", null, log.items.map((item) => h("tr", null,
        h("td", null, dateTime(item.at)),
        h("td", null, CHANNEL_LABELS[item.channel] || item.channel),
        h("td", null, RESULT_LABELS[item.result] || item.result))))));
  };
  details.addEventListener("toggle", () => { if (details.open) load(); });
  details.open = open; // opening fires toggle, which loads it
  return details;
}
