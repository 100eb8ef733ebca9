// One certificate: for an e-certificate the annotation (加注) - its quota, the application
// form (scenario, validity, the copy's language 中文 / 中英文) and the list of copies with
// 查看 / 下载 / 撤回 - and for a 证书电子文件 its file and its checks.

import { api, ApiError } from "./api.js";
import { announce, badge, busy, facts, field, h, replace, showMessage, token, uid } from "./dom.js";
import { ANNOTATION_TONE, annotationStatusLabel, certStatusLabel, date, dateTime } from "./format.js";
import { t } from "./i18n.js";
import { certificateFacts, certificateName, eFile, issuerNote, loadScenarios, scenarioName } from "./certificate-parts.js";
import { checkFields, clearFormErrors, current, later, loadMe, loadView, markField, mount, openFile,
  restoreDraft, setTitle, showError, state, verificationLog } from "./view.js";

export async function showCertificate(certificateId, seq) {
  const body = h("div", null, h("p", { class: "loading" }, t("common.loading")));
  const node = h("section", { "aria-labelledby": "cert-title" },
    h("p", null, h("a", { class: "back-link", href: "#/certificates" }, t("common.back_to_list"))),
    h("p", { class: "eyebrow" }, t("cert.eyebrow")),
    h("h1", { id: "cert-title", tabindex: "-1" }, t("cert.heading")),
    body);
  mount(node, t("cert.eyebrow"));
  const loaded = await loadView(body, seq, async () => {
    await loadMe();
    return Promise.all([
      api("GET", `/certificates/${certificateId}`),
      api("GET", `/certificates/${certificateId}/annotations`),
      loadScenarios(),
    ]);
  });
  if (loaded === undefined) return;
  const [cert, listing] = loaded;
  const name = cert.qualification + (cert.level ? ` ${cert.level}` : "");
  node.querySelector("h1").textContent = name;
  setTitle(t("cert.page_title", { name }));
  new CertificatePage(cert, listing, body, seq).render();
}

// How soon to ask again about a pending copy: the worker makes one in ~100 ms, so early and
// often at first (50 ms, then every 100 ms for 2 s), then backing off to every 5 s.
export function pollDelay(elapsedMs, previous) {
  if (previous === null) return 50;
  if (elapsedMs < 2000) return 100;
  return Math.min(Math.max(500, Math.round(previous * 1.5)), 5000);
}

// Which field an API refusal of the application concerns.
const FIELD_OF_CODE = { invalid_validity: "validity_days", invalid_scenario: "scenario", invalid_language: "language" };

class CertificatePage {
  constructor(cert, listing, root, seq) {
    this.cert = cert;
    this.listing = listing;
    this.root = root;
    this.seq = seq;
    this.polling = new Set();   // pending annotations being polled
    this.watching = new Set();  // annotations seen pending: their outcome gets announced
    this.quotaBox = h("div", { class: "quota" });
    this.historyBox = h("div", { class: "history" });
    this.applyButton = null;
    this.applyForm = null;
    this.fullNote = null;
    this.what = certificateName(cert);
  }

  render() {
    const cert = this.cert;
    const infoSection = h("section", { class: "card", "aria-labelledby": "info-title" },
      h("h2", { id: "info-title" }, t("cert.info_title")),
      h("p", { class: "hint" }, cert.kind === "e_file" ? t("cert.check_efile") : t("cert.check")),
      certificateFacts(cert),
      issuerNote(cert));

    let annotationSection;
    if (cert.kind === "e_file") {
      const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
      const file = eFile(cert, errorEl, { logOpen: true });
      annotationSection = h("section", { class: "card", "aria-labelledby": "file-title" },
        h("h2", { id: "file-title" }, t("efile.title")),
        h("p", null, cert.status === "valid" ? t("efile.intro") : t("efile.not_valid", { status: certStatusLabel(cert) })),
        facts([file.code]),
        file.buttons.length ? h("div", { class: "actions" }, file.buttons) : null,
        file.status,
        errorEl,
        file.log);
    } else {
      annotationSection = h("section", { class: "card", "aria-labelledby": "annotate-title" },
        h("h2", { id: "annotate-title" }, t("cert.annotate_title")),
        this.quotaBox,
        cert.status === "valid" ? this.applyArea() : h("p", { class: "summary" },
          t("cert.not_valid", { status: certStatusLabel(cert) })));
    }
    const historySection = cert.kind === "e_certificate"
      ? h("section", { class: "card", "aria-labelledby": "history-title" },
        h("h2", { id: "history-title" }, t("cert.history_title")),
        h("p", { class: "hint" }, t("cert.history_hint")),
        this.historyBox)
      : null;
    replace(this.root, infoSection, annotationSection, historySection);
    if (cert.kind === "e_certificate") this.renderListing();
    if (this.applyForm && restoreDraft(this.applyForm) && !this.isFull()) this.toggleForm(true);
  }

  isFull() {
    const { quota } = this.listing;
    return quota.used >= quota.limit;
  }

  // ---- the application form

  applyArea() {
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
    open.addEventListener("click", () => this.toggleForm(true));
    cancel.addEventListener("click", () => this.toggleForm(false));
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); this.toggleForm(false); }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(form, submit, errorEl);
    });
    this.applyButton = open;
    this.applyForm = form;
    return h("div", { class: "apply" }, h("div", { class: "actions" }, open), this.fullNote, form);
  }

  toggleForm(show) {
    if (show && this.isFull()) return;
    this.applyForm.hidden = !show;
    this.applyButton.setAttribute("aria-expanded", String(show));
    if (show) this.applyForm.querySelector("select").focus();
    else this.applyButton.focus();
  }

  // At 已用 3/3 the button is disabled and says, next to it, when the next copy is possible.
  fitApplyButton() {
    if (!this.applyButton) return;
    const { quota } = this.listing;
    const full = this.isFull();
    this.applyButton.disabled = full;
    if (full) {
      this.applyButton.setAttribute("aria-describedby", this.fullNote.id);
      showMessage(this.fullNote, t("apply.full_reason", { days: quota.window_days, date: date(quota.next_available_on) }));
      if (!this.applyForm.hidden) {
        this.applyForm.hidden = true;
        this.applyButton.setAttribute("aria-expanded", "false");
      }
    } else {
      this.applyButton.removeAttribute("aria-describedby");
      showMessage(this.fullNote, "");
    }
  }

  async submit(form, submit, errorEl) {
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
      this.applyButton.setAttribute("aria-expanded", "false");
      announce(t("apply.submitted"));
      // The server's 202 answer is shown at once (证书生成中…) with focus on its status; the
      // listing (with the quota) follows, and polling takes it from there.
      this.listing = { ...this.listing, items: [pending, ...this.listing.items] };
      this.renderListing(pending.annotation_id, true);
      await this.refresh();
    });
  }

  // ---- quota and the list of annotations

  async refresh(focusId) {
    try {
      this.listing = await api("GET", `/certificates/${this.cert.certificate_id}/annotations`);
    } catch (error) {
      return;
    }
    if (!current(this.seq)) return;
    this.renderListing(focusId);
  }

  renderListing(focusId, forceFocus = false) {
    const { items, quota } = this.listing;
    const latest = items[0];
    const full = quota.used >= quota.limit;
    replace(this.quotaBox,
      h("p", { class: "state-line" }, t("quota.state"),
        latest ? badge(annotationStatusLabel(latest), ANNOTATION_TONE[latest.status] || "muted")
          : h("span", null, t("quota.none"))),
      h("div", { class: "meter-row" },
        h("label", { for: "quota-meter" }, t("quota.label", { days: quota.window_days })),
        h("meter", { id: "quota-meter", min: "0", max: String(quota.limit), value: String(quota.used),
          low: String(quota.limit - 1), high: String(quota.limit), optimum: "0" }),
        h("span", { class: "meter-text" }, t("quota.used", { used: quota.used, limit: quota.limit }))),
      full && quota.next_available_on
        ? h("p", { class: "note" }, t("quota.full", { days: quota.window_days, date: date(quota.next_available_on) }))
        : null);
    this.fitApplyButton();
    if (!items.length) {
      replace(this.historyBox, h("p", { class: "empty" }, t("history.empty")));
      return;
    }
    const list = h("ol", { class: "annotation-list" }, items.map((a) => this.annotationItem(a)));
    const active = document.activeElement;
    const focusWasInside = this.historyBox.contains(active);
    const focusedItem = focusWasInside ? active.closest("li[data-annotation-id]") : null;
    const focusedStatus = focusWasInside && active.matches("[data-role=status]");
    replace(this.historyBox, list);
    for (const a of items) {
      if (a.status === "pending") {
        this.watching.add(a.annotation_id);
        this.poll(a.annotation_id);
      } else {
        this.polling.delete(a.annotation_id);
        if (this.watching.delete(a.annotation_id)) {
          if (a.status === "ready") announce(t("annotation.ready"));
          else if (a.status === "failed") announce(t("annotation.failed"));
        }
      }
    }
    const id = focusId || (focusedItem && focusedItem.dataset.annotationId);
    const target = id && list.querySelector(`[data-annotation-id="${id}"]`);
    // Focus follows the change only if it was in the list or got lost (the form it was in closed);
    // after 提交加注申请 it goes to the new copy's status.
    if (target && (forceFocus || focusWasInside || !document.activeElement || document.activeElement === document.body)) {
      const status = target.querySelector("[data-role=status]");
      (forceFocus || focusedStatus || (!focusWasInside && focusId) ? status : target).focus();
    }
  }

  annotationItem(a) {
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
      parts.push(this.readyActions(a, errorEl, what));
    } else if (a.status === "expired") {
      parts.push(h("p", { class: "summary" }, t("annotation.expired_note")));
      if (this.cert.status === "valid" && this.applyButton && !this.isFull()) {
        const again = h("button", { type: "button", class: "btn btn-secondary" }, t("annotation.apply_again"));
        again.addEventListener("click", () => this.toggleForm(true));
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

  readyActions(a, errorEl, what) {
    const path = `/annotations/${a.annotation_id}/file`;
    const named = (key) => t(`${key}_of`, { what: `${what}, ${this.what}` });
    const viewButton = h("button", { type: "button", class: "btn btn-primary", "aria-label": named("copy.view") },
      t("copy.view"));
    const saveButton = h("button", { type: "button", class: "btn btn-secondary", "aria-label": named("copy.save") },
      t("copy.save"));
    const withdrawButton = h("button", { type: "button", class: "btn btn-danger-outline",
      "aria-label": named("copy.withdraw") }, t("copy.withdraw"));
    const afterFileError = () => {
      // A copy that expired or was withdrawn meanwhile: show its new state, keep the message.
      if (!errorEl.hidden) {
        const message = errorEl.textContent;
        this.refresh().then(() => {
          const fresh = this.historyBox.querySelector(`[data-annotation-id="${a.annotation_id}"] .form-message`);
          if (fresh && current(this.seq)) showMessage(fresh, message);
        });
      }
    };
    viewButton.addEventListener("click", () => openFile(path, "inline", viewButton, errorEl).then(afterFileError));
    saveButton.addEventListener("click", () => openFile(path, "attachment", saveButton, errorEl).then(afterFileError));

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
      await this.refresh(a.annotation_id);
    }));
    return h("div", null, h("div", { class: "actions" }, viewButton, saveButton, withdrawButton), confirmBox);
  }

  // ---- waiting for 证书生成中… to end, without a reload

  poll(annotationId) {
    if (this.polling.has(annotationId)) return;
    this.polling.add(annotationId);
    const started = performance.now();
    let delay = null;
    const schedule = () => {
      delay = pollDelay(performance.now() - started, delay);
      later(tick, delay);
    };
    const tick = async () => {
      if (!current(this.seq) || !this.polling.has(annotationId)) return;
      let a;
      try {
        a = await api("GET", `/annotations/${annotationId}`);
      } catch (error) {
        if (error instanceof ApiError && error.handled) return;
        delay = Math.min((delay || 100) * 4, 10000);
        later(tick, delay);
        return;
      }
      if (!current(this.seq) || !this.polling.has(annotationId)) return;
      if (a.status === "pending") {
        schedule();
        return;
      }
      this.polling.delete(annotationId);
      // The copy as the poll saw it, at once; the listing (quota, other copies) follows.
      this.listing = { ...this.listing, items: this.listing.items.map((x) => (x.annotation_id === annotationId ? a : x)) };
      this.renderListing();
      await this.refresh();
    };
    schedule();
  }
}

function validityTokens(from, until) {
  const [before, middle, after] = t("date.validity", { from: "\u0000", until: "\u0001" }).split(/[\u0000\u0001]/);
  return [before, token(dateTime(from)), middle, token(dateTime(until)), after];
}
