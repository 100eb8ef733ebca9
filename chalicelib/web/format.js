// Labels and dates as a person reads them. Times are shown in Beijing time whatever the
// browser's own time zone is.

export const KIND_LABELS = { e_certificate: "电子证书", e_file: "证书电子文件" };

// Badge colours by state: green valid, grey cancelled/over, red revoked/failed, amber generating.
export const CERT_TONE = { valid: "ok", cancelled: "muted", revoked: "bad" };
export const ANNOTATION_TONE = { pending: "busy", ready: "ok", expired: "muted", withdrawn: "muted", failed: "bad" };

export const RESULT_LABELS = { valid: "有效", expired: "已过期", withdrawn: "已撤回", revoked: "已撤销", cancelled: "已注销" };
export const RESULT_TONE = { valid: "ok", expired: "muted", withdrawn: "muted", revoked: "bad", cancelled: "muted" };
// What a verification answer found: `kind` of API.md's Verification.
export const DOCUMENT_LABELS = { annotated_copy: "电子证书加注件", e_file: "证书电子文件" };
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

export const ID_TYPE_LABELS = {
  resident_id: "居民身份证",
  hk_macao_permit: "港澳居民来往内地通行证",
  taiwan_permit: "台湾居民来往大陆通行证",
  passport: "护照",
  foreign_permanent_resident: "外国人永久居留身份证",
};

// The password policy as the registration form states it.
export const PASSWORD_HINT = "至少 8 位，含小写字母、大写字母、数字、其他符号中的至少三类，且不含用户名。";

export const IDENTITY_LABELS = { sms: "已核验（短信）", certificate_no: "已核验（证书编号）" };

// A wait as a person says it: "45 秒", "14 分 30 秒", "15 分钟", "1 小时 5 分钟".
export function waitText(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} 秒`;
  const minutes = Math.floor(s / 60);
  if (minutes >= 60) {
    const rest = minutes % 60;
    return `${Math.floor(minutes / 60)} 小时${rest ? ` ${rest} 分钟` : ""}`;
  }
  return s % 60 ? `${minutes} 分 ${s % 60} 秒` : `${minutes} 分钟`;
}
