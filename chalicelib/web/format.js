// Labels and dates as a person reads them, in the page's language. Times are shown in Beijing
// time whatever the browser's own time zone is; a date-time stays one unbreakable token.

import { currentLang, t } from "./i18n.js";

// Badge colours by state: green valid, grey cancelled/over, red revoked/failed, amber generating.
export const CERT_TONE = { valid: "ok", cancelled: "muted", revoked: "bad" };
export const ANNOTATION_TONE = { pending: "busy", ready: "ok", expired: "muted", withdrawn: "muted", failed: "bad" };
export const RESULT_TONE = { valid: "ok", expired: "muted", withdrawn: "muted", revoked: "bad", cancelled: "muted" };
export const ID_TYPES = ["resident_id", "hk_macao_permit", "taiwan_permit", "passport", "foreign_permanent_resident"];

function label(prefix, code, fallback) {
  const text = t(`${prefix}.${code}`);
  return text === `${prefix}.${code}` ? (fallback || code) : text;
}
export const kindLabel = (kind) => label("kind", kind);
// The API's status_label is Chinese: shown as it is in Chinese, by the code's English in English.
export const certStatusLabel = (cert) => (currentLang() === "zh" && cert.status_label) || label("cert_status", cert.status);
export const annotationStatusLabel = (a) => (currentLang() === "zh" && a.status_label) || label("annotation_status", a.status);
export const resultLabel = (result) => label("result", result);
export const documentLabel = (kind) => label("document", kind);
export const channelLabel = (channel) => label("channel", channel);
export const idTypeLabel = (idType) => label("id_type", idType);
export const identityLabel = (method) => label("identity_method", method, t("account.identity_verified"));

const formatters = {};
function beijing() {
  const lang = currentLang();
  if (!formatters[lang]) {
    formatters[lang] = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
      timeZone: "Asia/Shanghai", year: "numeric", month: lang === "en" ? "short" : "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
  }
  return formatters[lang];
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "2026-11-23 15:52" in Chinese, "23 Nov 2026 15:52" in English.
export function dateTime(iso) {
  if (!iso) return "—";
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return iso;
  const part = Object.fromEntries(beijing().formatToParts(instant).map((p) => [p.type, p.value]));
  if (currentLang() === "en") return `${Number(part.day)} ${part.month} ${part.year} ${part.hour}:${part.minute}`;
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
}

// A Beijing calendar date (YYYY-MM-DD) as it is in Chinese, "1 Mar 2024" in English.
export function date(isoDate) {
  if (!isoDate) return "—";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m || currentLang() !== "en") return isoDate;
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
}

export function text(value) {
  return value === null || value === undefined || value === "" ? "—" : String(value);
}

export function validity(from, until) {
  if (!from || !until) return "—";
  return t("date.validity", { from: dateTime(from), until: dateTime(until) });
}

// A wait as a person says it: "45 秒", "14 分 30 秒", "15 分钟", "1 小时 5 分钟" (or in English).
export function waitText(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return t("wait.seconds", { s });
  const minutes = Math.floor(s / 60);
  if (minutes >= 60) {
    const rest = minutes % 60;
    return rest ? t("wait.hours_minutes", { h: Math.floor(minutes / 60), m: rest }) : t("wait.hours", { h: minutes / 60 });
  }
  return s % 60 ? t("wait.minutes_seconds", { m: minutes, s: s % 60 }) : t("wait.minutes", { m: minutes });
}
