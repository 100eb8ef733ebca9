// What the certificate list and one certificate's view share: its facts, the issuer's contact,
// a 证书电子文件's buttons and log, the scenarios, and how a button names the certificate it
// acts on (label in name: the visible text first, then which certificate).

import { api } from "./api.js";
import { badge, facts, h, token } from "./dom.js";
import { CERT_TONE, certStatusLabel, date, kindLabel, text } from "./format.js";
import { t } from "./i18n.js";
import { openFile, state, verificationLog } from "./view.js";

// "注册测绘师（CH20231100123）": which certificate a button acts on.
export function certificateName(cert) {
  return `${cert.qualification}${cert.level ? ` ${cert.level}` : ""} (${cert.certificate_no})`;
}

export function certificateFacts(cert) {
  return facts([
    [t("fact.qualification"), text(cert.qualification)],
    [t("fact.level"), text(cert.level)],
    [t("fact.specialty"), text(cert.specialty)],
    [t("fact.holder_name"), text(cert.holder_name)],
    [t("fact.id_number"), token(text(cert.id_number_masked))],
    [t("fact.certificate_no"), token(text(cert.certificate_no))],
    [t("fact.approved_on"), token(date(cert.approved_on))],
    [t("fact.issued_on"), token(date(cert.issued_on))],
    [t("fact.issuer"), text(cert.issuer && cert.issuer.name)],
    [t("fact.status"), badge(certStatusLabel(cert), CERT_TONE[cert.status] || "muted")],
    [t("fact.kind"), kindLabel(cert.kind)],
  ]);
}

export function issuerNote(cert) {
  const issuer = cert.issuer || {};
  const [before, after] = t("issuer.phone", { phone: "\u0000" }).split("\u0000");
  return h("p", { class: "note" },
    t("issuer.note", { name: text(issuer.name) }),
    issuer.contact ? [before, h("a", { href: `tel:${issuer.contact}` }, token(issuer.contact)), after] : null,
    t("issuer.end"));
}

export function scenarioName(code) {
  const own = t(`scenario.${code}`);
  if (own !== `scenario.${code}`) return own;
  const found = (state.scenarios || []).find((s) => s.code === code);
  return found ? found.name : code;
}

export async function loadScenarios() {
  if (!state.scenarios) state.scenarios = (await api("GET", "/scenarios", { auth: false })).items;
  return state.scenarios;
}

// A 证书电子文件 (DOMAIN rule 4): its verification code, 查看文件 / 下载文件 for a valid
// certificate, and its checks; the pieces a card or the certificate's view places.
export function eFile(cert, errorEl, { logOpen = false } = {}) {
  const path = `/certificates/${cert.certificate_id}/file`;
  const status = h("p", { class: "file-status", role: "status", "aria-live": "polite" });
  const what = certificateName(cert);
  const buttons = cert.status !== "valid" ? []
    : [["efile.view", "inline", "btn-primary"], ["efile.save", "attachment", "btn-secondary"]].map(([key, how, style]) => {
      const button = h("button", { type: "button", class: `btn ${style}`, "aria-label": t(`${key}_of`, { what }) },
        t(key));
      button.addEventListener("click", () => openFile(path, how, button, errorEl, status));
      return button;
    });
  const code = cert.file_verification_code;
  return {
    code: code ? [t("fact.code"), h("span", { class: "verification-code token" }, code)] : null,
    buttons,
    status,
    log: code ? verificationLog(`/certificates/${cert.certificate_id}/verifications`,
      { open: logOpen, what: t("efile.what") }) : null,
  };
}
