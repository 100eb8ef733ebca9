// 持证人查询下载: the holder's certificates, each a card with its state, 证书信息, and 下载 (an
// e-certificate's view) or 查看文件 / 下载文件 (a 证书电子文件).

import { api } from "./api.js";
import { badge, facts, h, replace, token, uid } from "./dom.js";
import { ANNOTATION_TONE, CERT_TONE, annotationStatusLabel, certStatusLabel, date, dateTime, kindLabel,
  text } from "./format.js";
import { t } from "./i18n.js";
import { certificateFacts, certificateName, eFile, issuerNote } from "./certificate-parts.js";
import { current, loadMe, mount, showError } from "./view.js";

export async function showCertificates(seq) {
  const list = h("div", { class: "cert-list" }, h("p", { class: "loading" }, t("certs.loading")));
  const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
  const node = h("section", { "aria-labelledby": "certs-title" },
    h("h1", { id: "certs-title", tabindex: "-1" }, t("certs.title")),
    h("p", { class: "lead" }, t("certs.lead")),
    errorEl, list);
  mount(node, t("certs.title"));
  let certificates;
  try {
    await loadMe();
    certificates = (await api("GET", "/certificates")).items;
  } catch (error) {
    if (current(seq)) { replace(list); showError(errorEl, error); }
    return;
  }
  if (!current(seq)) return;
  if (!certificates.length) {
    replace(list, h("div", { class: "empty" },
      h("p", null, h("strong", null, t("certs.empty_title"))),
      h("p", null, t("certs.empty"))));
    return;
  }
  replace(list, certificates.map(certificateCard));
}

function latestSummary(cert) {
  if (cert.kind !== "e_certificate" || cert.status !== "valid") return null;
  const a = cert.latest_annotation;
  if (!a) return h("p", { class: "summary" }, t("certs.not_annotated"));
  const detail = a.status === "ready" ? t("certs.valid_until", { until: "\u0000" }).split("\u0000") : null;
  return h("p", { class: "summary" }, t("certs.annotation_state"),
    badge(annotationStatusLabel(a), ANNOTATION_TONE[a.status] || "muted"),
    detail ? [detail[0], token(dateTime(a.valid_until)), detail[1]] : null);
}

function certificateCard(cert) {
  const infoId = uid("cert-info");
  const what = certificateName(cert);
  const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
  const info = h("div", { class: "cert-info", id: infoId, hidden: true }, certificateFacts(cert), issuerNote(cert));
  const infoButton = h("button", { type: "button", class: "btn btn-secondary", "aria-expanded": "false",
    "aria-controls": infoId, "aria-label": t("certs.info_of", { what }) }, t("certs.info"));
  infoButton.addEventListener("click", () => {
    const open = info.hidden;
    info.hidden = !open;
    infoButton.setAttribute("aria-expanded", String(open));
  });
  const actions = [infoButton];
  const valid = cert.status === "valid";
  const file = cert.kind === "e_file" ? eFile(cert, errorEl) : null;
  if (valid && cert.kind === "e_certificate") {
    actions.push(h("a", { class: "btn btn-primary", href: `#/certificates/${cert.certificate_id}`,
      "aria-label": t("certs.download_of", { what }) }, t("certs.download")));
  } else if (file) {
    actions.push(...file.buttons);
  }
  const titleId = uid("cert-title");
  return h("article", { class: `card cert-card cert-${cert.status}`, "aria-labelledby": titleId,
    "data-certificate-no": cert.certificate_no },
  h("div", { class: "card-head" },
    h("h2", { id: titleId }, cert.qualification, cert.level ? h("span", { class: "level" }, ` ${cert.level}`) : null),
    h("div", { class: "badges" },
      badge(certStatusLabel(cert), CERT_TONE[cert.status] || "muted"),
      h("span", { class: "tag" }, kindLabel(cert.kind)))),
  facts([[t("fact.certificate_no"), token(cert.certificate_no)], [t("fact.issued_on"), token(date(cert.issued_on))],
    [t("fact.issuer"), text(cert.issuer && cert.issuer.name)], file && file.code]),
  latestSummary(cert),
  valid ? null : h("p", { class: "summary" }, t("certs.not_valid", { status: certStatusLabel(cert) })),
  h("div", { class: "actions" }, actions),
  file && file.status,
  errorEl,
  info,
  file && file.log);
}
