// The HTTP API (see API.md), called from the same origin. Every error becomes an ApiError
// carrying the API's message (English when the page is: the request says Accept-Language: en);
// a 401 on a request that carried a token (the session ended: logout, expiry), a 403
// notice_not_accepted and a 403 identity_not_verified go to handlers the page installs.

import { currentLang, t } from "./i18n.js";

// One session for all the tabs of this browser: the token and its expiry live in localStorage.
// Chosen over sessionStorage + a BroadcastChannel hand-off because a tab opened from a link (a
// 下载 link, a bookmark, a reload after a crash) is signed in at once, with no race against
// another tab answering in time, and the `storage` event tells every tab at once when one logs
// out (or renews the session), so logout in one tab is logout in all. The CSP is unchanged (no
// cookie, no third party); the token is short-lived (2 h, renewable up to 12 h after login,
// the server's rule), cleared on logout and on expiry, and revoked server-side by logout.
export const TOKEN_KEY = "certificates.access_token";
export const EXPIRES_KEY = "certificates.expires_at"; // ms since the epoch on this browser's clock
// Whose token it is (the username as the server keys it, lower case): a tab that sees the token
// change hands to another account starts over instead of sending Y's token from X's screen.
const USER_KEY = "certificates.user";
// Why the last session ended, "timeout" | "logout": written before the token is removed, so that
// the other tabs show the same as this one (登录已超时 with the forms kept, or a plain logout).
const ENDED_KEY = "certificates.ended";

function read(key) {
  try { return window.localStorage.getItem(key); } catch { return null; }
}

export const session = {
  get token() { return read(TOKEN_KEY); },
  get expiresAt() {
    const value = Number(read(EXPIRES_KEY));
    return Number.isFinite(value) && value > 0 ? value : null;
  },
  get user() { return read(USER_KEY); },
  get endedBecause() { return read(ENDED_KEY); },
  // Takes a login answer ({access_token, expires_in}) and, after a login, whose it is (a renewal
  // or a new password keeps the user). The user is written before the token: the other tabs
  // read it when the token's `storage` event reaches them.
  set(login, username) {
    try {
      window.localStorage.removeItem(ENDED_KEY);
      if (username !== undefined) window.localStorage.setItem(USER_KEY, String(username).toLowerCase());
      window.localStorage.setItem(TOKEN_KEY, login.access_token);
      if (Number.isFinite(login.expires_in)) {
        window.localStorage.setItem(EXPIRES_KEY, String(Date.now() + login.expires_in * 1000));
      } else {
        window.localStorage.removeItem(EXPIRES_KEY);
      }
    } catch { /* storage refused: nothing to keep the session in */ }
  },
  clear(reason = "logout") {
    try {
      window.localStorage.setItem(ENDED_KEY, reason);
      window.localStorage.removeItem(TOKEN_KEY);
      window.localStorage.removeItem(EXPIRES_KEY);
      window.localStorage.removeItem(USER_KEY);
    } catch { /* nothing stored */ }
  },
};

export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.retryAfter = retryAfter; // seconds to wait before trying again (a 429 or a 503), else null
    this.handled = false; // set when a page-wide handler already dealt with it
  }
}

// A 429 or a 503 says how long to wait in its details and in Retry-After (seconds); the details win.
function retryAfterSeconds(details, header) {
  const fromDetails = details && details.retry_after_seconds;
  const seconds = Number.isFinite(fromDetails) ? fromDetails : Number.parseInt(header || "", 10);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : null;
}

const handlers = { unauthorized: null, noticeNotAccepted: null, identityNotVerified: null };

export function onUnauthorized(fn) { handlers.unauthorized = fn; }
export function onNoticeNotAccepted(fn) { handlers.noticeNotAccepted = fn; }
export function onIdentityNotVerified(fn) { handlers.identityNotVerified = fn; }

// `quiet401`: the caller handles a 401 itself (a refused renewal is not a timed-out page).
// `lang`: the language to be answered in, when not the page's.
export async function api(method, path, { json, raw, contentType, auth = true, quiet401 = false, lang } = {}) {
  const headers = { Accept: "application/json" };
  if ((lang || currentLang()) === "en") headers["Accept-Language"] = "en";
  const token = auth ? session.token : null;
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (raw !== undefined) {
    headers["Content-Type"] = contentType;
    body = raw;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: "no-store", credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "network_error", t("common.network"));
  }
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (response.ok) return data;
  const details = data && data.error ? data.error.details : null;
  const retryAfter = response.status === 429 || response.status === 503
    ? retryAfterSeconds(details, response.headers.get("Retry-After")) : null;
  const error = data && data.error
    ? new ApiError(response.status, data.error.code, data.error.message, details, retryAfter)
    : new ApiError(response.status, "http_error", t("common.unavailable"), null, retryAfter);
  if (response.status === 401 && token && !quiet401 && handlers.unauthorized) {
    error.handled = true;
    handlers.unauthorized(error);
  } else if (response.status === 403 && error.code === "notice_not_accepted" && handlers.noticeNotAccepted) {
    error.handled = true;
    handlers.noticeNotAccepted(error);
  } else if (response.status === 403 && error.code === "identity_not_verified" && handlers.identityNotVerified) {
    error.handled = true;
    handlers.identityNotVerified(error);
  }
  throw error;
}
