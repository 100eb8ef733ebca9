// One certificate: for an e-certificate the annotation (加注) - its quota, the application
// form (apply-form.js) and the list of copies (copy-row.js: 查看 / 下载 / 撤回), pending ones
// watched until they are ready (copy-poller.js) - and for a 证书电子文件 its file and its checks.

import { api } from "./api.js";
import { announce, badge, facts, h, replace } from "./dom.js";
import { ANNOTATION_TONE, annotationStatusLabel, certStatusLabel, date } from "./format.js";
import { t } from "./i18n.js";
import { ApplyForm, quotaFull } from "./apply-form.js";
import { certificateFacts, certificateName, eFile, issuerNote, loadScenarios } from "./certificate-parts.js";
import { CopyPoller } from "./copy-poller.js";
import { copyRow } from "./copy-row.js";
import { current, loadMe, loadView, mount, setTitle } from "./view.js";

export { pollDelay } from "./copy-poller.js";

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

class CertificatePage {
  constructor(cert, listing, root, seq) {
    this.cert = cert;
    this.listing = listing;
    this.root = root;
    this.seq = seq;
    this.watching = new Set();  // annotations seen pending: their outcome gets announced
    this.quotaBox = h("div", { class: "quota" });
    this.historyBox = h("div", { class: "history" });
    this.what = certificateName(cert);
    // The copy as the poll saw it, at once; the listing (quota, other copies) follows.
    this.poller = new CopyPoller(seq, async (a) => {
      this.listing = { ...this.listing, items: this.listing.items.map((x) => (x.annotation_id === a.annotation_id ? a : x)) };
      this.renderListing();
      await this.refresh();
    });
    // The server's 202 answer is shown at once (证书生成中…) with focus on its status; the
    // listing (with the quota) follows, and polling takes it from there.
    this.form = cert.kind === "e_certificate" && cert.status === "valid" ? new ApplyForm(cert, {
      quota: () => this.listing.quota,
      submitted: async (pending) => {
        this.listing = { ...this.listing, items: [pending, ...this.listing.items] };
        this.renderListing(pending.annotation_id, true);
        await this.refresh();
      },
      refresh: () => this.refresh(),
    }) : null;
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
        this.form ? this.form.element() : h("p", { class: "summary" },
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
    if (this.form) this.form.restore();
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
    replace(this.quotaBox,
      h("p", { class: "state-line" }, t("quota.state"),
        latest ? badge(annotationStatusLabel(latest), ANNOTATION_TONE[latest.status] || "muted")
          : h("span", null, t("quota.none"))),
      h("div", { class: "meter-row" },
        h("label", { for: "quota-meter" }, t("quota.label", { days: quota.window_days })),
        h("meter", { id: "quota-meter", min: "0", max: String(quota.limit), value: String(quota.used),
          low: String(quota.limit - 1), high: String(quota.limit), optimum: "0" }),
        h("span", { class: "meter-text" }, t("quota.used", { used: quota.used, limit: quota.limit }))),
      quotaFull(quota) && quota.next_available_on
        ? h("p", { class: "note" }, t("quota.full", { days: quota.window_days, date: date(quota.next_available_on) }))
        : null);
    if (this.form) this.form.fit();
    if (!items.length) {
      replace(this.historyBox, h("p", { class: "empty" }, t("history.empty")));
      return;
    }
    const list = h("ol", { class: "annotation-list" }, items.map((a) => copyRow(a, this.rowContext())));
    const active = document.activeElement;
    const focusWasInside = this.historyBox.contains(active);
    const focusedItem = focusWasInside ? active.closest("li[data-annotation-id]") : null;
    const focusedStatus = focusWasInside && active.matches("[data-role=status]");
    // A background refresh (a poll seeing a copy ready) keeps focus on the same control of the row.
    const focusedAction = focusWasInside ? active.dataset.action : undefined;
    replace(this.historyBox, list);
    for (const a of items) {
      if (a.status === "pending") {
        this.watching.add(a.annotation_id);
        this.poller.watch(a.annotation_id);
      } else {
        this.poller.forget(a.annotation_id);
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
      const same = focusedAction && !forceFocus && target.querySelector(`[data-action="${focusedAction}"]`);
      (same || (forceFocus || focusedStatus || (!focusWasInside && focusId) ? status : target)).focus();
    }
  }

  // What a copy's row needs of this view (see copy-row.js).
  rowContext() {
    return {
      what: this.what,
      canApplyAgain: () => Boolean(this.form) && !this.form.isFull(),
      applyAgain: () => this.form.toggle(true),
      refresh: (focusId) => this.refresh(focusId),
      rowError: (annotationId) => (current(this.seq)
        ? this.historyBox.querySelector(`[data-annotation-id="${annotationId}"] .form-message`) : null),
    };
  }
}
