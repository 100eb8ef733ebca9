// One annotated copy in a certificate's list (加注记录): its number, scenario, validity and code,
// 查看 / 下载 / 撤回 with the withdraw confirmation for a ready copy, a way to apply again for
// an expired one, and its log of checks.

import { api } from "./api.js";
import { announce, badge, busy, facts, h, replace, showMessage, token, uid } from "./dom.js";
import { ANNOTATION_TONE, annotationStatusLabel, dateTime } from "./format.js";
import { t } from "./i18n.js";
import { scenarioName } from "./certificate-parts.js";
import { openFile, showError, verificationLog } from "./view.js";

// `page`: what the row needs of its view - `what` (the certificate, named for screen readers),
// `canApplyAgain()`, `applyAgain()`, `refresh(focusId)` (the listing again, focus kept on the
// row) and `rowError(annotationId)` (the row's error slot as drawn now, null once the view changed).
export function copyRow(a, page) {
  const tone = ANNOTATION_TONE[a.status] || "muted";
  const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
  const titleId = uid("annotation-title");
  const what = a.annotation_no ? t("annotation.what", { no: a.annotation_no })
    : t("annotation.what_pending", { at: dateTime(a.applied_at) });
  const item = h("li", { class: `card annotation annotation-${a.status}`, tabindex: "-1",
    "data-annotation-id": a.annotation_id, "aria-labelledby": titleId });
  const heading = h("div", { class: "card-head" },
    h("h3", { id: titleId }, a.annotation_no ? t("annotation.no", { no: a.annotation_no })
      : t("annotation.applied", { at: dateTime(a.applied_at) })),
    h("div", { class: "badges", "data-role": "status", tabindex: "-1",
      "aria-label": `${t("annotation.status")}: ${annotationStatusLabel(a)}` },
    badge(annotationStatusLabel(a), tone)));
  const rows = [
    [t("annotation.scenario"), scenarioName(a.scenario)],
    [t("annotation.days"), t("annotation.days_value", { n: a.validity_days })],
    a.language ? [t("annotation.language"), a.language === "zh-en" ? t("apply.language_zh_en") : t("apply.language_zh")]
      : null,
    [t("annotation.applied_at"), token(dateTime(a.applied_at))],
    a.valid_from ? [t("annotation.validity"), validityTokens(a.valid_from, a.valid_until)] : null,
    a.verification_code ? [t("annotation.code"), h("span", { class: "verification-code token" }, a.verification_code)]
      : null,
  ];
  const parts = [heading, facts(rows)];
  if (a.status === "pending") {
    parts.push(h("p", { class: "pending-note" }, h("span", { class: "spinner", "aria-hidden": "true" }),
      t("annotation.pending_note")));
  } else if (a.status === "ready") {
    parts.push(readyActions(a, errorEl, what, page));
  } else if (a.status === "expired") {
    parts.push(h("p", { class: "summary" }, t("annotation.expired_note")));
    if (page.canApplyAgain()) {
      const again = h("button", { type: "button", class: "btn btn-secondary" }, t("annotation.apply_again"));
      again.addEventListener("click", () => page.applyAgain());
      parts.push(h("div", { class: "actions" }, again));
    }
  } else if (a.status === "withdrawn") {
    parts.push(h("p", { class: "summary" }, t("annotation.withdrawn_note")));
  } else if (a.status === "failed") {
    parts.push(h("p", { class: "summary" }, t("annotation.failed_note")));
  }
  parts.push(errorEl);
  if (a.verification_code) {
    parts.push(verificationLog(`/annotations/${a.annotation_id}/verifications`,
      { open: a.status === "ready", what: t("annotation.what_log") }));
  }
  return replace(item, parts);
}

function readyActions(a, errorEl, what, page) {
  const path = `/annotations/${a.annotation_id}/file`;
  const named = (key) => t(`${key}_of`, { what: `${what}, ${page.what}` });
  const viewButton = h("button", { type: "button", class: "btn btn-primary", "data-action": "view",
    "aria-label": named("copy.view") },
    t("copy.view"));
  const saveButton = h("button", { type: "button", class: "btn btn-secondary", "data-action": "save",
    "aria-label": named("copy.save") },
    t("copy.save"));
  const withdrawButton = h("button", { type: "button", class: "btn btn-danger-outline", "data-action": "withdraw",
    "aria-label": named("copy.withdraw") }, t("copy.withdraw"));
  const afterFileError = () => {
    // A copy that expired or was withdrawn meanwhile: show its new state, keep the message.
    if (!errorEl.hidden) {
      const message = errorEl.textContent;
      page.refresh().then(() => {
        const fresh = page.rowError(a.annotation_id);
        if (fresh) showMessage(fresh, message);
      });
    }
  };
  viewButton.addEventListener("click", () => openFile(path, "inline", viewButton, errorEl).then(afterFileError));
  saveButton.addEventListener("click", () => openFile(path, "attachment", saveButton, errorEl).then(afterFileError));
  const confirmBox = withdrawConfirmation(a, withdrawButton, errorEl, what, page);
  return h("div", null, h("div", { class: "actions" }, viewButton, saveButton, withdrawButton), confirmBox);
}

// 撤回 opens a confirmation next to it (确认撤回 / 取消, Escape closes it, focus goes back).
function withdrawConfirmation(a, withdrawButton, errorEl, what, page) {
  const confirmId = uid("withdraw-confirm");
  const textId = uid("withdraw-text");
  const yes = h("button", { type: "button", class: "btn btn-danger" }, t("withdraw.confirm"));
  const no = h("button", { type: "button", class: "btn btn-secondary" }, t("common.cancel"));
  const confirmBox = h("div", { class: "confirm", id: confirmId, role: "group",
    "aria-label": `${t("withdraw.group")}: ${what}`, "aria-describedby": textId, hidden: true },
  h("p", { id: textId }, t("withdraw.text")),
  h("div", { class: "actions" }, yes, no));
  const close = () => {
    confirmBox.hidden = true;
    withdrawButton.setAttribute("aria-expanded", "false");
    withdrawButton.focus();
  };
  withdrawButton.setAttribute("aria-expanded", "false");
  withdrawButton.setAttribute("aria-controls", confirmId);
  withdrawButton.addEventListener("click", () => {
    confirmBox.hidden = false;
    withdrawButton.setAttribute("aria-expanded", "true");
    yes.focus();
  });
  no.addEventListener("click", close);
  confirmBox.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  yes.addEventListener("click", () => busy(yes, async () => {
    showMessage(errorEl, "");
    try {
      await api("POST", `/annotations/${a.annotation_id}/withdraw`);
    } catch (error) {
      showError(errorEl, error);
      return;
    }
    announce(t("withdraw.done"));
    await page.refresh(a.annotation_id);
  }));
  return confirmBox;
}

function validityTokens(from, until) {
  const [before, middle, after] = t("date.validity", { from: "\u0000", until: "\u0001" }).split(/[\u0000\u0001]/);
  return [before, token(dateTime(from)), middle, token(dateTime(until)), after];
}
