// The application for an annotated copy (申请证书加注) on a certificate's view: the button that
// opens it (disabled at 已用 3/3, saying when the next copy is possible), the form (scenario,
// validity, the copy's language 中文 / 中英文) and its submission.

import { api, ApiError } from "./api.js";
import { announce, busy, field, h, showMessage, uid } from "./dom.js";
import { date } from "./format.js";
import { t } from "./i18n.js";
import { scenarioName } from "./certificate-parts.js";
import { checkFields, clearFormErrors, markField, restoreDraft, showError, state } from "./view.js";

// Which field an API refusal of the application concerns.
const FIELD_OF_CODE = { invalid_validity: "validity_days", invalid_scenario: "scenario", invalid_language: "language" };

export function quotaFull(quota) {
  return quota.used >= quota.limit;
}

export class ApplyForm {
  // `quota()`: the quota as the view has it now; `submitted(pending)`: the 202 answer, once the
  // form closed; `refresh()`: the listing as it is now (after a refusal for the quota).
  constructor(cert, { quota, submitted, refresh }) {
    this.cert = cert;
    this.quota = quota;
    this.submitted = submitted;
    this.refresh = refresh;
    this.button = null;
    this.form = null;
    this.fullNote = null;
  }

  isFull() {
    return quotaFull(this.quota());
  }

  element() {
    const formId = uid("apply-form");
    const errorEl = h("p", { class: "form-message", role: "alert", hidden: true, tabindex: "-1",
      "data-role": "form-error" });
    const select = h("select", { name: "scenario", required: true },
      (state.scenarios || []).map((s) => h("option", { value: s.code }, scenarioName(s.code))));
    const days = h("input", { name: "validity_days", type: "number", min: "1", max: "90", step: "1",
      value: "90", inputmode: "numeric", required: true });
    const languages = [["zh", t("apply.language_zh")], ["zh-en", t("apply.language_zh_en")]].map(([value, label]) =>
      h("label", { class: "choice" },
        h("input", { type: "radio", name: "language", value, checked: value === "zh" }), label));
    const languageHint = uid("language-hint");
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("apply.submit"));
    const cancel = h("button", { type: "button", class: "btn btn-secondary" }, t("common.cancel"));
    const form = h("form", { id: formId, class: "apply-form", hidden: true, novalidate: true,
      "data-draft": `apply-${this.cert.certificate_id}` },
    h("h3", null, t("apply.title")),
    field(t("apply.scenario"), select),
    field(t("apply.days"), days, t("apply.days_hint")),
    h("fieldset", { class: "field choices", "aria-describedby": languageHint },
      h("legend", null, t("apply.language")), languages,
      h("p", { class: "hint", id: languageHint }, t("apply.language_hint"))),
    h("div", { class: "actions" }, submit, cancel),
    errorEl);
    const open = h("button", { type: "button", class: "btn btn-primary", "aria-expanded": "false",
      "aria-controls": formId }, t("apply.open"));
    this.fullNote = h("p", { class: "note", id: uid("quota-full"), hidden: true });
    open.addEventListener("click", () => this.toggle(true));
    cancel.addEventListener("click", () => this.toggle(false));
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); this.toggle(false); }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(submit, errorEl);
    });
    this.button = open;
    this.form = form;
    return h("div", { class: "apply" }, h("div", { class: "actions" }, open), this.fullNote, form);
  }

  // What the form held when the session ended, put back (and the form opened if it was open).
  restore() {
    if (restoreDraft(this.form) && !this.isFull()) this.toggle(true);
  }

  toggle(show) {
    if (show && this.isFull()) return;
    this.form.hidden = !show;
    this.button.setAttribute("aria-expanded", String(show));
    if (show) this.form.querySelector("select").focus();
    else this.button.focus();
  }

  // At 已用 3/3 the button is disabled and says, next to it, when the next copy is possible.
  fit() {
    const quota = this.quota();
    const full = this.isFull();
    this.button.disabled = full;
    if (full) {
      this.button.setAttribute("aria-describedby", this.fullNote.id);
      showMessage(this.fullNote, t("apply.full_reason", { days: quota.window_days, date: date(quota.next_available_on) }));
      if (!this.form.hidden) {
        this.form.hidden = true;
        this.button.setAttribute("aria-expanded", "false");
      }
    } else {
      this.button.removeAttribute("aria-describedby");
      showMessage(this.fullNote, "");
    }
  }

  async submit(submit, errorEl) {
    const form = this.form;
    clearFormErrors(form);
    const ok = checkFields(form, [
      ["scenario", t("apply.err_scenario")],
      ["validity_days", t("apply.err_days"), (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 90],
    ]);
    if (!ok) return;
    const values = Object.fromEntries(new FormData(form));
    const body = { scenario: values.scenario, validity_days: Number(values.validity_days),
                   language: values.language === "zh-en" ? "zh-en" : "zh" };
    await busy(submit, async () => {
      let pending;
      try {
        pending = await api("POST", `/certificates/${this.cert.certificate_id}/annotations`, { json: body });
      } catch (error) {
        if (error instanceof ApiError && error.handled) return;
        const name = error instanceof ApiError ? (FIELD_OF_CODE[error.code] || error.details.field) : null;
        const input = name ? form.elements.namedItem(name) : null;
        if (input && input.id && markField(form, input, error.message)) return;
        showError(errorEl, error);
        if (error instanceof ApiError && error.code === "annotation_quota_exceeded") {
          const next = error.details.next_available_on;
          if (next && !error.message.includes(next)) errorEl.append(t("apply.next_on", { date: next }));
          this.refresh(); // the meter and the next date, as they are now
        }
        errorEl.focus();
        return;
      }
      form.hidden = true;
      this.button.setAttribute("aria-expanded", "false");
      announce(t("apply.submitted"));
      await this.submitted(pending);
    });
  }
}
