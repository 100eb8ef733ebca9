// The verifier's page: check a document the service issued - an annotated copy (加注件) or a
// 证书电子文件 - by its code (the QR code opens /verify?code=… and the check runs at once; a
// picture of the QR code is read here), by uploading the PDF itself, or many at once: pasted
// codes in one batch, dropped files one request each, all in one table that downloads as CSV.
// Anonymous; the answer is live. The batch is verify-batch.js. The answer is redrawn in the
// other language when the switch changes (it is kept as data).

import { api, ApiError } from "./api.js";
import { announce, busy, h, replace, showMessage, token } from "./dom.js";
import { RESULT_TONE, date, dateTime, documentLabel, resultLabel, text, waitText } from "./format.js";
import { addTexts, applyStatic, currentLang, mountSwitch, onLangChange, t } from "./i18n.js";
import verifyEn from "./strings-verify-en.js";
import verifyZh from "./strings-verify-zh.js";
import { installBatch } from "./verify-batch.js";

addTexts({ zh: verifyZh, en: verifyEn });

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

export const MAX_BYTES = 5 * 1024 * 1024;
// A photo is scaled down to this many pixels on its longer side before it is searched.
const MAX_PICTURE_SIDE = 1600;

// What a result means, by the kind of document found (API.md: Verification.kind); an e-file's
// result is its certificate's state.
function explanation(kind, result) {
  const key = `verify.explain_${kind === "e_file" ? "file" : "copy"}_${result}`;
  const text = t(key);
  return text === key ? "" : text;
}

export function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => h("div", { class: "fact" }, h("dt", null, term), h("dd", null, value))));
}

// A file someone appended to after the service signed it: what was signed is genuine, the rest is not ours.
function modifiedNote(answer) {
  if (!answer.modified_after_signing) return null;
  const list = (answer.modifications || []).map((m) => t(`verify.mod_${m}`)).join(t("common.list_join"));
  return h("p", { class: "note" }, t("verify.modified", { what: list ? t("verify.modified_what", { list }) : "" }),
    t("verify.modified_tail"));
}

// What the result box shows now, kept to redraw it in the other language.
let shown = null;

function showResult(answer, how, lang, { quiet = false } = {}) {
  const redraw = () => showResult(answer, how, lang, { quiet: true });
  shown = redraw;
  drawResult(answer, how, answer.annotation && answer.annotation.scenario);
  if (!quiet) announce(t("verify.announce", { label: resultLabel(answer.result) }));
  // The answer names its scenario in the language it was asked in; in another one the name is
  // looked up rather than asked again (a second check would count in the holder's log of checks,
  // a second miss against this client's limit).
  const to = currentLang();
  if (answer.annotation && lang !== to) {
    scenarioIn(answer.annotation.scenario, lang, to).then((name) => {
      if (shown === redraw && currentLang() === to) drawResult(answer, how, name);
    });
  }
}

function drawResult(answer, how, scenario) {
  const label = resultLabel(answer.result);
  const tone = RESULT_TONE[answer.result] || "muted";
  const cert = answer.certificate || {};
  const note = answer.annotation; // null for a 证书电子文件
  const kind = answer.kind || "annotated_copy";
  replace(resultBody,
    h("div", { class: `verdict verdict-${tone}` },
      h("span", { class: `badge badge-${tone} badge-large` }, label),
      h("span", { class: "tag" }, documentLabel(kind)),
      h("p", null, explanation(kind, answer.result))),
    h("p", { class: "hint" }, t("verify.how", { how: t(`verify.how_${how}`) })),
    modifiedNote(answer),
    h("div", { class: "result-grid" },
      h("section", { class: "card", "aria-labelledby": "result-cert-title" },
        h("h3", { id: "result-cert-title" }, t("verify.cert_title")),
        facts([
          [t("fact.qualification"), text(cert.qualification)],
          [t("fact.level"), text(cert.level)],
          [t("fact.holder_name"), text(cert.holder_name)],
          [t("fact.id_number"), token(text(cert.id_number_masked))],
          [t("fact.certificate_no"), token(text(cert.certificate_no))],
          [t("fact.issued_on"), token(date(cert.issued_on))],
          [t("fact.issuer"), text(cert.issuer)],
          kind === "e_file" ? [t("fact.status"), label] : null,
        ])),
      note ? h("section", { class: "card", "aria-labelledby": "result-annotation-title" },
        h("h3", { id: "result-annotation-title" }, t("verify.annotation_title")),
        facts([
          [t("verify.annotation_no"), token(text(note.annotation_no))],
          [t("verify.scenario"), text(scenario)],
          [t("verify.validity"), validityTokens(note.valid_from, note.valid_until)],
        ])) : null));
  result.hidden = false;
}

// The scenario lists (GET /scenarios, {code, name}) by language, each asked for once.
const scenarioLists = {};

function scenarioList(lang) {
  if (!scenarioLists[lang]) {
    scenarioLists[lang] = api("GET", "/scenarios", { auth: false, lang }).then((answer) => answer.items)
      .catch(() => { delete scenarioLists[lang]; return []; });
  }
  return scenarioLists[lang];
}

// A scenario's name in language `from` as it is named in `to`; the name itself when unknown.
async function scenarioIn(name, from, to) {
  const [source, target] = await Promise.all([scenarioList(from), scenarioList(to)]);
  const known = source.find((s) => s.name === name);
  const found = known && target.find((s) => s.code === known.code);
  return found ? found.name : name;
}

function validityTokens(from, until) {
  if (!from || !until) return "—";
  const [before, middle, after] = t("date.validity", { from: "\u0000", until: "\u0001" }).split(/[\u0000\u0001]/);
  return [before, token(dateTime(from)), middle, token(dateTime(until)), after];
}

function showNotFound(error, { quiet = false } = {}) {
  shown = () => showNotFound(error, { quiet: true });
  const message = errorMessage(error);
  replace(resultBody,
    h("div", { class: "verdict verdict-bad" },
      h("span", { class: "badge badge-bad badge-large" }, t("result.unknown")),
      h("p", null, message)),
    h("p", { class: "hint" }, t("verify.not_found_hint")));
  result.hidden = false;
  if (!quiet) announce(t("verify.announce", { label: message }));
}

function hideResult() {
  shown = null;
  result.hidden = true;
  replace(resultBody);
}

// The page's own text for a refusal the API names by its code (API.md), so that it follows the
// language switch; the API's message (in the language of the request) for a code not known here.
const ERROR_TEXT = {
  unknown_code: "error.unknown_code",
  unknown_document: "error.unknown_document",
  invalid_document: "error.invalid_document",
  document_too_large: "verify.too_large",
  rate_limited: "error.rate_limited",
  network_error: "common.network",
  http_error: "common.unavailable",
};

export function errorMessage(error) {
  if (!(error instanceof ApiError)) return t("verify.failed");
  const key = ERROR_TEXT[error.code];
  return key ? t(key) : error.message;
}

// A refusal as a person reads it; a throttled verifier is told how long to wait.
export function refusal(error) {
  if (error instanceof ApiError && error.status === 429 && error.retryAfter) {
    return t("verify.throttled", { wait: waitText(error.retryAfter) });
  }
  return errorMessage(error);
}

async function checkCode(code, { moveFocus }) {
  showMessage(codeError, "");
  codeInput.removeAttribute("aria-invalid");
  if (!code) {
    showMessage(codeError, t("verify.need_code"));
    codeInput.setAttribute("aria-invalid", "true");
    codeInput.focus();
    return;
  }
  hideResult();
  try {
    const lang = currentLang();
    showResult(await api("GET", `/verify/${encodeURIComponent(code)}`, { auth: false }), "code", lang);
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
  if (!file) return refuse(t("verify.need_file"));
  if (file.size > MAX_BYTES) return refuse(t("verify.too_large"));
  busy(fileForm.querySelector("button[type=submit]"), async () => {
    hideResult();
    try {
      // The raw bytes, as the API takes them (not a multipart form).
      const lang = currentLang();
      const answer = await api("POST", "/verify/file", { raw: file, contentType: "application/pdf", auth: false });
      showResult(answer, "file", lang);
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
    refuse(error && error.message === "decoder" ? t("verify.qr_loader") : t("verify.qr_unreadable"));
    return;
  }
  const code = found ? codeIn(found.data) : "";
  if (!code) {
    refuse(t("verify.qr_none"));
    return;
  }
  codeInput.value = code;
  history.replaceState(null, "", `/verify?code=${encodeURIComponent(code)}`);
  await checkCode(code, { moveFocus: true });
});

mountSwitch(document.getElementById("lang-switch"));
applyStatic();
document.title = t("site.title", { title: t("verify.title") });
const batch = installBatch({ refusal, maxBytes: MAX_BYTES });
onLangChange(() => {
  document.title = t("site.title", { title: t("verify.title") });
  if (shown) shown();
  batch.redraw();
});

const initial = new URLSearchParams(location.search).get("code");
if (initial) {
  codeInput.value = initial;
  checkCode(initial.trim(), { moveFocus: false });
}
