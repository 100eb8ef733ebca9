// The holder's page: routes between its screens (one ES module each: screen-login.js,
// screen-notice.js, screen-certificates.js, screen-certificate.js, identity.js, password.js,
// account.js), installs the page-wide handlers (a session that ends, the notice, the identity
// proof), the header (language switch, logout) and the session's clock. Views are addressed by
// the URL's hash (#/certificates/…), so a reload or the back button keeps the place.

import { showAccountPage } from "./account.js";
import { api, EXPIRES_KEY, onIdentityNotVerified, onNoticeNotAccepted, onUnauthorized, session, TOKEN_KEY } from "./api.js";
import { announce, busy } from "./dom.js";
import { addTexts, applyStatic, mountSwitch, onLangChange, t } from "./i18n.js";
import { showIdentity } from "./identity.js";
import { showForgotPassword } from "./password.js";
import { showCertificate } from "./screen-certificate.js";
import { showCertificates } from "./screen-certificates.js";
import { showLogin, showRegister } from "./screen-login.js";
import { showNotice } from "./screen-notice.js";
import { installSessionDialog, onSessionExpired, startSessionTimers, stopSessionTimers } from "./session.js";
import { go, keepDraft, leave, setHash, showAccount, startRouter, state, stopTimers } from "./view.js";
import holderEn from "./strings-holder-en.js";
import holderZh from "./strings-holder-zh.js";

addTexts({ zh: holderZh, en: holderEn });

const PROTECTED = /^#\/(certificates(\/[A-Za-z0-9_-]+)?|account)$/;
const SIGNED_OUT_ONLY = ["#/login", "#/register", "#/password"];

// What the login form says once (登录已超时 after a session ended), until a login succeeds.
let loginMessage = null;
// Whose screen this tab shows (session.user when it last routed signed in).
let shownUser = session.user;

function route() {
  stopTimers();
  state.seq += 1;
  const seq = state.seq;
  const hash = location.hash || "#/certificates";
  if (!session.token) {
    showAccount(null);
    if (hash === "#/register") return showRegister();
    if (hash === "#/password") return showForgotPassword();
    if (PROTECTED.test(hash)) state.returnTo = hash;
    return showLogin(loginMessage);
  }
  loginMessage = null;
  shownUser = session.user;
  // What another account typed before its session timed out is not put into this one's forms.
  if (state.draft && state.draft.user && state.draft.user !== shownUser) state.draft = null;
  if (SIGNED_OUT_ONLY.includes(hash)) return go("#/certificates");
  if (hash === "#/identity") return showIdentity(seq);
  if (hash === "#/notice") return showNotice(seq);
  if (hash === "#/account") return showAccountPage(seq);
  const match = hash.match(/^#\/certificates\/([A-Za-z0-9_-]+)$/);
  if (match) return showCertificate(match[1], seq);
  setHash("#/certificates");
  return showCertificates(seq);
}

// The session ended while the page was open (expired, or ended elsewhere): say so, keep what
// the open forms held, and come back to this screen after the next login.
function timedOut() {
  if (!session.token) return; // requests in flight together may all come back 401: the first one handles it
  session.clear("timeout"); // the other tabs then come to showTimedOut() too, through the `storage` event
  showTimedOut();
}

function showTimedOut() {
  const hash = location.hash;
  keepDraft(hash);
  if (state.draft) state.draft.user = shownUser;
  stopSessionTimers();
  state.me = null;
  if (PROTECTED.test(hash)) state.returnTo = hash;
  stopTimers();
  state.seq += 1;
  showAccount(null);
  loginMessage = t("session.timed_out");
  setHash("#/login");
  showLogin(loginMessage);
  announce(loginMessage);
}

onUnauthorized(timedOut);
onSessionExpired(timedOut);

onNoticeNotAccepted(() => {
  if (PROTECTED.test(location.hash)) state.returnTo = location.hash;
  if (state.me) state.me.notice_accepted = false;
  go("#/notice");
});

onIdentityNotVerified(() => {
  if (PROTECTED.test(location.hash)) state.returnTo = location.hash;
  if (state.me) state.me.identity_verified = false;
  go("#/identity");
});

// Another tab logged in, renewed, timed out or logged out: this one follows (one session per
// browser). A timeout shows what it shows in the tab whose clock ran out (登录已超时, the forms
// kept); a logout drops the forms.
window.addEventListener("storage", (event) => {
  if (event.key === EXPIRES_KEY) { startSessionTimers(); return; }
  if (event.key !== TOKEN_KEY) return;
  if (!event.newValue) {
    if (session.endedBecause === "timeout") { showTimedOut(); return; }
    stopSessionTimers();
    state.me = null;
    state.draft = null;
    state.flash = { text: t("session.logged_out_elsewhere") };
    showAccount(null);
    if (PROTECTED.test(location.hash)) state.returnTo = location.hash;
    go("#/login");
  } else if (!event.oldValue) {
    state.me = null;
    startSessionTimers();
    route();
  } else if (session.user !== shownUser) {
    switchedUser();
  }
});

// Another tab signed in as someone else: nothing of the account shown here may go on (its
// screen, its forms, where it was going), or this tab would show X's screen with Y's token.
function switchedUser() {
  state.me = null;
  state.draft = null;
  state.returnTo = null;
  state.flash = null;
  loginMessage = null;
  showAccount(null);
  startSessionTimers();
  go("#/certificates");
  announce(t("session.switched_elsewhere"));
}

document.getElementById("logout").addEventListener("click", async (event) => {
  await busy(event.currentTarget, async () => {
    try {
      await api("POST", "/auth/logout", { quiet401: true });
    } catch {
      // The session ends on this side whatever the server said.
    }
  });
  stopSessionTimers();
  leave();
  announce(t("logout.done"));
});

mountSwitch(document.getElementById("lang-switch"));
applyStatic();
// A new language redraws the screen (the form's typed values kept as after a timeout).
onLangChange(() => {
  keepDraft(location.hash);
  state.firstRender = true; // focus stays on the switch
  route();
});
installSessionDialog();
startSessionTimers();
startRouter(route);
