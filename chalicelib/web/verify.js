// The verifier's page: check a copy by its code (the QR code opens /verify?code=… and the
// check runs at once) or by uploading the PDF itself. Anonymous; the answer is live.

import { api, ApiError } from "./api.js";
import { announce, busy, h, replace, showMessage } from "./dom.js";
import { RESULT_LABELS, RESULT_TONE, date, text, validity } from "./format.js";

const codeForm = document.getElementById("code-form");
const codeInput = document.getElementById("code");
const codeError = document.getElementById("code-error");
const fileForm = document.getElementById("file-form");
const fileInput = document.getElementById("file");
const fileError = document.getElementById("file-error");
const result = document.getElementById("result");
const resultBody = document.getElementById("result-body");

const MAX_BYTES = 5 * 1024 * 1024;

const EXPLANATIONS = {
  valid: "该加注件真实有效，且在加注有效期内。",
  expired: "该加注件已超过加注有效期，不能作为有效证书使用。请持证人重新申请加注。",
  withdrawn: "持证人已撤回该加注件，不能作为有效证书使用。",
  revoked: "该证书已被发证机构撤销，其加注件不能作为有效证书使用。",
};

function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.map(([term, value]) => h("div", { class: "fact" }, h("dt", null, term), h("dd", null, value))));
}

function showResult(answer, how) {
  const label = RESULT_LABELS[answer.result] || answer.result;
  const tone = RESULT_TONE[answer.result] || "muted";
  const cert = answer.certificate || {};
  const note = answer.annotation || {};
  replace(resultBody,
    h("div", { class: `verdict verdict-${tone}` },
      h("span", { class: `badge badge-${tone} badge-large` }, label),
      h("p", null, EXPLANATIONS[answer.result] || "")),
    h("p", { class: "hint" }, `查验方式：${how}`),
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
        ])),
      h("section", { class: "card", "aria-labelledby": "result-annotation-title" },
        h("h3", { id: "result-annotation-title" }, "加注信息"),
        facts([
          ["加注编号", text(note.annotation_no)],
          ["使用场景", text(note.scenario)],
          ["有效期", validity(note.valid_from, note.valid_until)],
        ]))));
  result.hidden = false;
  announce(`查验结果：${label}`);
}

function showNotFound(error) {
  replace(resultBody,
    h("div", { class: "verdict verdict-bad" },
      h("span", { class: "badge badge-bad badge-large" }, "未找到"),
      h("p", null, error.message)),
    h("p", { class: "hint" }, "请核对验证码是否输入正确，或确认上传的是持证人提供的原始加注件文件。"));
  result.hidden = false;
  announce(`查验结果：${error.message}`);
}

function hideResult() {
  result.hidden = true;
  replace(resultBody);
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
      showMessage(codeError, error instanceof ApiError ? error.message : "查验失败，请稍后再试");
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
  if (!file) return refuse("请选择加注件 PDF 文件");
  if (file.size > MAX_BYTES) return refuse("文件过大：加注件不超过 5 MB");
  busy(fileForm.querySelector("button[type=submit]"), async () => {
    hideResult();
    try {
      // The raw bytes, as the API takes them (not a multipart form).
      const answer = await api("POST", "/verify/file", { raw: file, contentType: "application/pdf", auth: false });
      showResult(answer, "文件");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) showNotFound(error);
      else return refuse(error instanceof ApiError ? error.message : "查验失败，请稍后再试");
    }
    document.getElementById("result-title").focus();
    return undefined;
  });
  return undefined;
});

const initial = new URLSearchParams(location.search).get("code");
if (initial) {
  codeInput.value = initial;
  checkCode(initial.trim(), { moveFocus: false });
}
