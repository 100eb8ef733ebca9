// Labels and dates as a person reads them. Times are shown in Beijing time whatever the
// browser's own time zone is.

export const KIND_LABELS = { e_certificate: "电子证书", e_file: "证书电子文件" };

// Badge colours by state: green valid, grey cancelled/over, red revoked/failed, amber generating.
export const CERT_TONE = { valid: "ok", cancelled: "muted", revoked: "bad" };
export const ANNOTATION_TONE = { pending: "busy", ready: "ok", expired: "muted", withdrawn: "muted", failed: "bad" };

export const RESULT_LABELS = { valid: "有效", expired: "已过期", withdrawn: "已撤回", revoked: "已撤销" };
export const RESULT_TONE = { valid: "ok", expired: "muted", withdrawn: "muted", revoked: "bad" };
export const CHANNEL_LABELS = { code: "验证码", file: "文件", batch: "批量" };

const beijing = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

export function dateTime(iso) {
  if (!iso) return "—";
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return iso;
  const part = Object.fromEntries(beijing.formatToParts(instant).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
}

export function date(isoDate) {
  return isoDate || "—";
}

export function text(value) {
  return value === null || value === undefined || value === "" ? "—" : String(value);
}

export function validity(from, until) {
  if (!from || !until) return "—";
  return `${dateTime(from)} 至 ${dateTime(until)}（北京时间）`;
}
