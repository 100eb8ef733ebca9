// The HTTP API (see API.md), called from the same origin. Every error becomes an ApiError
// carrying the API's Chinese message; a 401 on a request that carried a token (the session
// ended: logout, expiry), a 403 notice_not_accepted and a 403 identity_not_verified go to
// handlers the page installs.

// The access token lives in sessionStorage, not localStorage: it survives a reload of this
// tab but ends with the tab, is not shared with other tabs, and is not left behind on a
// shared or public computer for the next person to find.
const TOKEN_KEY = "certificates.access_token";

export const session = {
  get token() {
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
  },
  set(token) {
    try { window.sessionStorage.setItem(TOKEN_KEY, token); } catch { /* private mode: this tab only */ }
  },
  clear() {
    try { window.sessionStorage.removeItem(TOKEN_KEY); } catch { /* nothing stored */ }
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

export async function api(method, path, { json, raw, contentType, auth = true } = {}) {
  const headers = { Accept: "application/json" };
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
    throw new ApiError(0, "network_error", "网络连接失败，请检查网络后重试");
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
    : new ApiError(response.status, "http_error", "服务暂时不可用，请稍后再试", null, retryAfter);
  if (response.status === 401 && token && handlers.unauthorized) {
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
