// The verifier's page: check a document the service issued - an annotated copy (加注件) or a
// 证书电子文件 - by its code (the QR code opens /verify?code=… and the check runs at once; a
// picture of the QR code is read here), by uploading the PDF itself, or many at once: pasted
// codes in one batch, dropped files one request each, all in one table that downloads as CSV.
// Anonymous; the answer is live.

import { api, ApiError } from "./api.js";
import { announce, badge, busy, h, replace, showMessage } from "./dom.js";
import { DOCUMENT_LABELS, RESULT_LABELS, RESULT_TONE, date, dateTime, text, validity, waitText } from "./format.js";

const codeForm = document.getElementById("code-form");
const codeInput = document.getElementById("code");
const codeError = document.getElementById("code-error");
const fileForm = document.getElementById("file-form");
const fileInput = document.getElementById("file");
const fileError = document.getElementById("file-error");
const result = document.getElementById("result");
const resultBody = document.getElementById("result-body");

const qrInput = document.getElementById("qr-picture");
const qrError = document.getElementById("qr-error");
const batchForm = document.getElementById("batch-form");
const batchCodes = document.getElementById("batch-codes");
const batchError = document.getElementById("batch-codes-error");
const batchFiles = document.getElementById("batch-files");
const batchFilesError = document.getElementById("batch-files-error");
const dropZone = document.getElementById("drop-zone");
const batchResult = document.getElementById("batch-result");
const batchRows = document.getElementById("batch-rows");
const batchSummary = document.getElementById("batch-summary");

const MAX_BYTES = 5 * 1024 * 1024;
const MAX_BATCH = 100;
// A photo is scaled down to this many pixels on its longer side before it is searched.
const MAX_PICTURE_SIDE = 1600;
const UNKNOWN_LABEL = "未找到";
const TOO_LARGE = "文件过大：不超过 5 MB";

// By the kind of document found (API.md: Verification.kind); an e-file's result is its certificate's state.
const EXPLANATIONS = {
  annotated_copy: {
    valid: "该加注件真实有效，且在加注有效期内。",
    expired: "该加注件已超过加注有效期，不能作为有效证书使用。请持证人重新申请加注。",
    withdrawn: "持证人已撤回该加注件，不能作为有效证书使用。",
    revoked: "该证书已被发证机构撤销，其加注件不能作为有效证书使用。",
    cancelled: "该证书已注销，其加注件不能作为有效证书使用。",
  },
  e_file: {
    valid: "该证书电子文件由本系统签发，真实有效；证书当前状态为有效。",
    revoked: "该证书电子文件由本系统签发，但证书已被发证机构撤销，不能作为有效证书使用。",
    cancelled: "该证书电子文件由本系统签发，但证书已注销，不能作为有效证书使用。",
  },
};

const MODIFICATION_LABELS = { pages: "页面", annotations: "批注", form_data: "表单内容", other: "其他内容" };

function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => h("div", { class: "fact" }, h("dt", null, term), h("dd", null, value))));
}

// A file someone appended to after the service signed it: what was signed is genuine, the rest is not ours.
function modifiedNote(answer) {
  if (!answer.modified_after_signing) return null;
  const what = (answer.modifications || []).map((m) => MODIFICATION_LABELS[m] || m).join("、");
  return h("p", { class: "note" }, `注意：该文件在本系统签名后被他人追加修改${what ? `（${what}）` : ""}。`,
    "上述结果针对本系统签发的内容，追加的部分不是本系统签发的，请向持证人索取原始文件。");
}

function showResult(answer, how) {
  const label = RESULT_LABELS[answer.result] || answer.result;
  const tone = RESULT_TONE[answer.result] || "muted";
  const cert = answer.certificate || {};
  const note = answer.annotation; // null for a 证书电子文件
  const kind = answer.kind || "annotated_copy";
  replace(resultBody,
    h("div", { class: `verdict verdict-${tone}` },
      h("span", { class: `badge badge-${tone} badge-large` }, label),
      h("span", { class: "tag" }, DOCUMENT_LABELS[kind] || kind),
      h("p", null, (EXPLANATIONS[kind] || {})[answer.result] || "")),
    h("p", { class: "hint" }, `查验方式：${how}`),
    modifiedNote(answer),
    h("div", { class: "result-grid" },
      h("section", { class: "card", "aria-labelledby": "result-cert-title" },
        h("h3", { id: "result-cert-title" }, "证书信息"),
        facts([
          ["资格名称", text(cert.qualification)],
          ["级别", text(cert.level)],
          ["姓名", text(cert.holder_name)],
          ["证件号码", text(cert.id_number_masked)],
          ["证书编号", text(cert.certificate_no)],
          ["签发日期", date(cert.issued_on)],
          ["发证机构", text(cert.issuer)],
          kind === "e_file" ? ["证书状态", label] : null,
        ])),
      note ? h("section", { class: "card", "aria-labelledby": "result-annotation-title" },
        h("h3", { id: "result-annotation-title" }, "加注信息"),
        facts([
          ["加注编号", text(note.annotation_no)],
          ["使用场景", text(note.scenario)],
          ["有效期", validity(note.valid_from, note.valid_until)],
        ])) : null));
  result.hidden = false;
  announce(`查验结果：${label}`);
}

function showNotFound(error) {
  replace(resultBody,
    h("div", { class: "verdict verdict-bad" },
      h("span", { class: "badge badge-bad badge-large" }, "未找到"),
      h("p", null, error.message)),
    h("p", { class: "hint" }, "请核对验证码是否输入正确，或确认上传的是持证人提供的原始加注件或证书电子文件。"));
  result.hidden = false;
  announce(`查验结果：${error.message}`);
}

function hideResult() {
  result.hidden = true;
  replace(resultBody);
}

// A refusal as a person reads it; a throttled verifier is told how long to wait.
function refusal(error) {
  if (!(error instanceof ApiError)) return "查验失败，请稍后再试";
  if (error.status === 429 && error.retryAfter) return `查验过于频繁，请 ${waitText(error.retryAfter)}后再试。`;
  return error.message;
}

async function checkCode(code, { moveFocus }) {
  showMessage(codeError, "");
  codeInput.removeAttribute("aria-invalid");
  if (!code) {
    showMessage(codeError, "请输入验证码");
    codeInput.setAttribute("aria-invalid", "true");
    codeInput.focus();
    return;
  }
  hideResult();
  try {
    showResult(await api("GET", `/verify/${encodeURIComponent(code)}`, { auth: false }), "验证码");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showNotFound(error);
    } else {
      showMessage(codeError, refusal(error));
      return;
    }
  }
  if (moveFocus) document.getElementById("result-title").focus();
}

codeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const code = codeInput.value.trim();
  // The address then names this check, so it can be reloaded or passed on.
  if (code) history.replaceState(null, "", `/verify?code=${encodeURIComponent(code)}`);
  busy(codeForm.querySelector("button[type=submit]"), () => checkCode(code, { moveFocus: true }));
});

fileForm.addEventListener("submit", (event) => {
  event.preventDefault();
  showMessage(fileError, "");
  fileInput.removeAttribute("aria-invalid");
  const file = fileInput.files && fileInput.files[0];
  const refuse = (message) => {
    showMessage(fileError, message);
    fileInput.setAttribute("aria-invalid", "true");
    fileInput.focus();
  };
  if (!file) return refuse("请选择加注件或证书电子文件 (PDF)");
  if (file.size > MAX_BYTES) return refuse(TOO_LARGE);
  busy(fileForm.querySelector("button[type=submit]"), async () => {
    hideResult();
    try {
      // The raw bytes, as the API takes them (not a multipart form).
      const answer = await api("POST", "/verify/file", { raw: file, contentType: "application/pdf", auth: false });
      showResult(answer, "文件");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) showNotFound(error);
      else return refuse(refusal(error));
    }
    document.getElementById("result-title").focus();
    return undefined;
  });
  return undefined;
});

// ------------------------------------------------------------------ a QR code in a picture

// jsQR (served from this origin, see pages.py) is loaded the first time a picture is chosen.
let decoder = null;
function qrDecoder() {
  if (!decoder) {
    decoder = new Promise((resolve, reject) => {
      const script = h("script", { src: "/static/jsQR.js" });
      script.addEventListener("load", () => (typeof window.jsQR === "function" ? resolve(window.jsQR) : reject()));
      script.addEventListener("error", () => reject());
      document.head.append(script);
    }).catch(() => {
      decoder = null;
      throw new Error("decoder");
    });
  }
  return decoder;
}

async function pixels(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_PICTURE_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = h("canvas", { width, height });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return context.getImageData(0, 0, width, height);
}

// The code a QR code carries: the verification link's ?code=…, or the bare code.
function codeIn(content) {
  try {
    const link = new URL(content);
    return (link.searchParams.get("code") || "").trim();
  } catch {
    return content.trim();
  }
}

qrInput.addEventListener("change", async () => {
  showMessage(qrError, "");
  qrInput.removeAttribute("aria-invalid");
  const file = qrInput.files && qrInput.files[0];
  if (!file) return;
  const refuse = (message) => {
    showMessage(qrError, message);
    qrInput.setAttribute("aria-invalid", "true");
  };
  let found;
  try {
    const [jsQR, image] = await Promise.all([qrDecoder(), pixels(file)]);
    found = jsQR(image.data, image.width, image.height);
  } catch (error) {
    refuse(error && error.message === "decoder" ? "二维码识别组件加载失败，请刷新页面后重试" : "无法读取该图片，请选择 PNG 或 JPEG 图片");
    return;
  }
  const code = found ? codeIn(found.data) : "";
  if (!code) {
    refuse("未能在图片中识别出加注件或证书电子文件的二维码，请换一张更清晰的图片，或直接输入验证码");
    return;
  }
  codeInput.value = code;
  history.replaceState(null, "", `/verify?code=${encodeURIComponent(code)}`);
  await checkCode(code, { moveFocus: true });
});

// ------------------------------------------------------------------ many at once

// The table's rows, kept as data for the CSV: the code or file name, the result label, and
// `cells`: [kind, certificate no., name, valid until]. "" is nothing found; NOT_APPLICABLE is a
// 证书电子文件's annotation field (it has none).
let rows = [];
const NO_CELLS = ["", "", "", ""];
const NOT_APPLICABLE = "—";

function resultRow(what, answer) {
  if (!answer || answer.result === "unknown") return { what, label: UNKNOWN_LABEL, tone: "bad", cells: NO_CELLS };
  const cert = answer.certificate || {};
  const note = answer.annotation;
  const kind = answer.kind || "annotated_copy";
  let until = NOT_APPLICABLE;
  if (note) until = note.valid_until ? dateTime(note.valid_until) : "";
  return {
    what,
    label: RESULT_LABELS[answer.result] || answer.result,
    tone: RESULT_TONE[answer.result] || "muted",
    cells: [DOCUMENT_LABELS[kind] || kind, cert.certificate_no || "", cert.holder_name || "", until],
  };
}

function errorRow(what, error) {
  if (error instanceof ApiError && error.status === 404) return resultRow(what, null);
  return { what, label: refusal(error), tone: "bad", cells: NO_CELLS };
}

function showRows() {
  replace(batchRows, rows.map((row) => h("tr", null,
    h("td", null, row.what),
    h("td", null, badge(row.label, row.tone)),
    row.cells.map((cell) => h("td", null, text(cell))))));
  const counts = {};
  for (const row of rows) counts[row.label] = (counts[row.label] || 0) + 1;
  batchSummary.textContent = `共 ${rows.length} 项：${Object.entries(counts).map(([label, n]) => `${label} ${n}`).join("，")}`;
  batchResult.hidden = rows.length === 0;
}

// Codes as people paste them: one a line, or separated by spaces or commas (also Chinese ones).
function splitCodes(value) {
  return value.split(/[\s,，、;；]+/).map((code) => code.trim()).filter(Boolean);
}

batchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  showMessage(batchError, "");
  batchCodes.removeAttribute("aria-invalid");
  const codes = splitCodes(batchCodes.value);
  const refuse = (message) => {
    showMessage(batchError, message);
    batchCodes.setAttribute("aria-invalid", "true");
    batchCodes.focus();
  };
  if (!codes.length) return refuse("请输入验证码，每行一个");
  if (codes.length > MAX_BATCH) return refuse(`一次最多查验 ${MAX_BATCH} 个验证码，当前 ${codes.length} 个`);
  busy(batchForm.querySelector("button[type=submit]"), async () => {
    let answer;
    try {
      answer = await api("POST", "/verify/batch", { json: { codes }, auth: false });
    } catch (error) {
      refuse(refusal(error));
      return;
    }
    rows = answer.items.map((item) => resultRow(item.code, item));
    showRows();
    announce(`批量查验完成：${batchSummary.textContent}`);
    document.getElementById("batch-result-title").focus();
  });
  return undefined;
});

async function checkFiles(files) {
  showMessage(batchFilesError, "");
  const pdfs = [...files];
  if (!pdfs.length) return;
  // One request a file, one after another: a throttled verifier stops at the first refusal.
  for (const file of pdfs) {
    if (file.size > MAX_BYTES) {
      rows.push({ what: file.name, label: TOO_LARGE, tone: "bad", cells: NO_CELLS });
      continue;
    }
    try {
      const answer = await api("POST", "/verify/file", { raw: file, contentType: "application/pdf", auth: false });
      rows.push(resultRow(file.name, answer));
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) {
        showMessage(batchFilesError, refusal(error));
        break;
      }
      rows.push(errorRow(file.name, error));
    }
    showRows();
  }
  showRows();
  announce(`文件查验完成：${batchSummary.textContent}`);
}

batchFiles.addEventListener("change", async () => {
  await checkFiles(batchFiles.files || []);
  batchFiles.value = "";
});
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  checkFiles(event.dataTransfer ? event.dataTransfer.files : []);
});

// CSV made here, in the browser: a spreadsheet opens UTF-8 with its BOM, and a cell that
// starts like a formula is kept as text (a pasted "code" is whatever someone typed).
function csvCell(value) {
  const cell = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

function csvOf(tableRows) {
  const header = ["验证码或文件", "查验结果", "文件类型", "证书编号", "姓名", "加注有效期至"];
  const lines = [header, ...tableRows.map((row) => [row.what, row.label, ...row.cells])];
  return `\ufeff${lines.map((line) => line.map(csvCell).join(",")).join("\r\n")}\r\n`;
}

document.getElementById("batch-csv").addEventListener("click", () => {
  const url = URL.createObjectURL(new Blob([csvOf(rows)], { type: "text/csv;charset=utf-8" }));
  const stamp = dateTime(new Date().toISOString()).replace(/[-: ]/g, "");
  const link = h("a", { href: url, download: `查验结果-${stamp}.csv`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
});

document.getElementById("batch-clear").addEventListener("click", () => {
  rows = [];
  showRows();
  batchCodes.focus();
});

const initial = new URLSearchParams(location.search).get("code");
if (initial) {
  codeInput.value = initial;
  checkCode(initial.trim(), { moveFocus: false });
}
