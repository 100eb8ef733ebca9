// 服务须知: read and accepted on first login and after every change of its version (DOMAIN
// rule 2); the API answers it in the page's language.

import { api, ApiError } from "./api.js";
import { announce, busy, h, replace, showMessage } from "./dom.js";
import { t } from "./i18n.js";
import { current, errorSlot, go, loadMe, mount, nextStep, showError } from "./view.js";

function paragraphs(body) {
  return body.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean).map((p) => h("p", null, p));
}

export async function showNotice(seq) {
  const title = h("h1", { id: "notice-title", tabindex: "-1", "data-role": "notice-title" }, t("notice.title"));
  // Its own name (not the section's): two landmarks may not share one.
  const body = h("div", { class: "notice-body", "data-role": "notice-body", role: "region", tabindex: "0",
    "aria-label": t("notice.body_label") });
  const accept = h("button", { type: "button", class: "btn btn-primary", "data-action": "accept", disabled: true },
    t("notice.accept"));
  const errorEl = errorSlot();
  const node = h("section", { class: "panel", "aria-labelledby": "notice-title" },
    title, h("p", { class: "lead" }, t("notice.lead")), body, errorEl, h("div", { class: "actions" }, accept));
  mount(node, t("notice.title"));
  let notice;
  let me;
  try {
    [notice, me] = await Promise.all([api("GET", "/notice", { auth: false }), loadMe()]);
  } catch (error) {
    if (current(seq)) showError(errorEl, error);
    return;
  }
  if (!current(seq)) return;
  if (!me.identity_verified) {
    go("#/identity"); // the proof comes first (see nextStep)
    return;
  }
  const show = (n) => {
    title.textContent = n.title;
    replace(body, paragraphs(n.body));
  };
  show(notice);
  accept.disabled = false;
  accept.addEventListener("click", () => busy(accept, async () => {
    showMessage(errorEl, "");
    try {
      await api("POST", "/notice/accept", { json: { version: notice.version } });
    } catch (error) {
      showError(errorEl, error);
      if (error instanceof ApiError && error.code === "notice_outdated") {
        const fresh = await api("GET", "/notice", { auth: false }).catch(() => null);
        if (fresh) {
          notice = fresh;
          show(fresh);
        }
      }
      return;
    }
    me.notice_accepted = true;
    announce(t("notice.accepted"));
    go(nextStep(me));
  }));
}
