// The session's clock on this side: five minutes before the token expires a dialog offers
// 继续 (POST /auth/refresh: a new token for the same session; the server refuses once the
// session is 12 h old, and the dialog then says so), and at expiry the page ends the session as
// a 401 would (登录已超时, the open form kept). Every tab runs this for the one shared session;
// a renewal in one tab reaches the others through the `storage` event.

import { api, ApiError, session } from "./api.js";
import { announce, busy, showMessage } from "./dom.js";
import { waitText } from "./format.js";
import { t } from "./i18n.js";

const WARN_BEFORE_MS = 5 * 60 * 1000;
const timers = { warn: null, end: null, tick: null };
let expired = () => {};

export function onSessionExpired(fn) { expired = fn; }

function dialog() { return document.getElementById("session-warning"); }

function clear() {
  for (const key of Object.keys(timers)) {
    window.clearTimeout(timers[key]);
    window.clearInterval(timers[key]);
    timers[key] = null;
  }
}

function closeWarning() {
  const box = dialog();
  if (box && box.open) box.close();
}

function warningText() {
  const left = (session.expiresAt || Date.now()) - Date.now();
  document.getElementById("session-warning-text").textContent =
    t("session.warning_text", { wait: waitText(Math.max(1, left / 1000)) });
}

function warn() {
  const box = dialog();
  if (!box || box.open) return;
  showMessage(document.getElementById("session-warning-error"), "");
  warningText();
  box.showModal();
  document.getElementById("session-continue").focus();
  timers.tick = window.setInterval(warningText, 1000);
}

// (Re)arms the timers from the stored expiry; called after a login, a renewal, a reload.
export function startSessionTimers() {
  clear();
  closeWarning();
  const at = session.expiresAt;
  if (!session.token || !at) return;
  const left = at - Date.now();
  if (left <= 0) {
    expired();
    return;
  }
  timers.warn = window.setTimeout(warn, Math.max(0, left - WARN_BEFORE_MS));
  timers.end = window.setTimeout(() => { closeWarning(); clear(); expired(); }, left);
}

export function stopSessionTimers() {
  clear();
  closeWarning();
}

async function renew() {
  const errorEl = document.getElementById("session-warning-error");
  const before = session.expiresAt || 0;
  let login;
  try {
    login = await api("POST", "/auth/refresh", { quiet401: true });
  } catch (error) {
    // 401: the session is over (12 h after login, or ended elsewhere); it runs out as planned.
    showMessage(errorEl, error instanceof ApiError && error.status === 401 ? t("session.refused")
      : (error.message || t("common.failed")));
    return;
  }
  session.set(login);
  if ((session.expiresAt || 0) - before < 60 * 1000) {
    // Renewed, but the 12-hour limit leaves no more time than before.
    showMessage(errorEl, t("session.refused"));
    return;
  }
  startSessionTimers();
  announce(t("session.renewed"));
}

export function installSessionDialog() {
  const box = dialog();
  const yes = document.getElementById("session-continue");
  yes.addEventListener("click", () => busy(yes, renew));
  document.getElementById("session-later").addEventListener("click", () => box.close());
  // Escape closes the native dialog; the interval that counts down goes with it.
  box.addEventListener("close", () => {
    window.clearInterval(timers.tick);
    timers.tick = null;
  });
}
