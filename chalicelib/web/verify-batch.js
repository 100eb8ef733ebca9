// The verifier's page, many at once: pasted codes in one batch request, dropped or chosen files
// one request each, all in one table that downloads as CSV. Rows are kept as the API's answers,
// so the table is redrawn in the other language when the switch changes.

import { api, ApiError } from "./api.js";
import { announce, badge, busy, h, replace, showMessage, token } from "./dom.js";
import { RESULT_TONE, dateTime, documentLabel, resultLabel, text } from "./format.js";
import { t } from "./i18n.js";

const MAX_BATCH = 100;
const NOT_APPLICABLE = "—";

export function installBatch({ refusal, maxBytes }) {
  const batchForm = document.getElementById("batch-form");
  const batchCodes = document.getElementById("batch-codes");
  const batchError = document.getElementById("batch-codes-error");
  const batchFiles = document.getElementById("batch-files");
  const batchFilesError = document.getElementById("batch-files-error");
  const dropZone = document.getElementById("drop-zone");
  const batchResult = document.getElementById("batch-result");
  const batchRows = document.getElementById("batch-rows");
  const batchSummary = document.getElementById("batch-summary");

  // {what, answer} | {what, error} | {what, tooLarge}: a row's label and cells are made when drawn.
  let rows = [];

  // [label, tone, cells]: cells are [kind, certificate no., name, valid until]; "" is nothing found.
  const cellsOf = (row) => {
    const none = ["", "", "", ""];
    if (row.tooLarge) return [t("verify.too_large"), "bad", none];
    if (row.error) {
      if (row.error instanceof ApiError && row.error.status === 404) return [t("result.unknown"), "bad", none];
      return [refusal(row.error), "bad", none];
    }
    const answer = row.answer;
    if (!answer || answer.result === "unknown") return [t("result.unknown"), "bad", none];
    const cert = answer.certificate || {};
    const note = answer.annotation;
    let until = NOT_APPLICABLE;
    if (note) until = note.valid_until ? dateTime(note.valid_until) : "";
    return [resultLabel(answer.result), RESULT_TONE[answer.result] || "muted",
      [documentLabel(answer.kind || "annotated_copy"), cert.certificate_no || "", cert.holder_name || "", until]];
  };

  const showRows = () => {
    const drawn = rows.map((row) => [row.what, ...cellsOf(row)]);
    replace(batchRows, drawn.map(([what, label, tone, cells]) => h("tr", null,
      h("td", null, token(what)),
      h("td", null, badge(label, tone)),
      cells.map((cell, i) => h("td", null, i === 1 || i === 3 ? token(text(cell)) : text(cell))))));
    const counts = {};
    for (const [, label] of drawn) counts[label] = (counts[label] || 0) + 1;
    batchSummary.textContent = t("verify.summary", { n: rows.length,
      counts: Object.entries(counts).map(([label, n]) => `${label} ${n}`).join(t("common.sep")) });
    batchResult.hidden = rows.length === 0;
    return drawn;
  };

  // Codes as people paste them: one a line, or separated by spaces or commas (also Chinese ones).
  const splitCodes = (value) => value.split(/[\s,，、;；]+/).map((code) => code.trim()).filter(Boolean);

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
    if (!codes.length) return refuse(t("verify.need_batch"));
    if (codes.length > MAX_BATCH) return refuse(t("verify.too_many", { max: MAX_BATCH, n: codes.length }));
    busy(batchForm.querySelector("button[type=submit]"), async () => {
      let answer;
      try {
        answer = await api("POST", "/verify/batch", { json: { codes }, auth: false });
      } catch (error) {
        refuse(refusal(error));
        return;
      }
      rows = answer.items.map((item) => ({ what: item.code, answer: item }));
      showRows();
      announce(t("verify.batch_done", { summary: batchSummary.textContent }));
      document.getElementById("batch-result-title").focus();
    });
    return undefined;
  });

  const checkFiles = async (files) => {
    showMessage(batchFilesError, "");
    const pdfs = [...files];
    if (!pdfs.length) return;
    // One request a file, one after another: a throttled verifier stops at the first refusal.
    for (const file of pdfs) {
      if (file.size > maxBytes) {
        rows.push({ what: file.name, tooLarge: true });
        continue;
      }
      try {
        const answer = await api("POST", "/verify/file", { raw: file, contentType: "application/pdf", auth: false });
        rows.push({ what: file.name, answer });
      } catch (error) {
        if (error instanceof ApiError && error.status === 429) {
          showMessage(batchFilesError, refusal(error));
          break;
        }
        rows.push({ what: file.name, error });
      }
      showRows();
    }
    showRows();
    announce(t("verify.files_done", { summary: batchSummary.textContent }));
  };

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
  const csvCell = (value) => {
    const cell = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
  };
  const csvOf = () => {
    const header = ["col_what", "col_result", "col_kind", "col_no", "col_name", "col_until"].map((k) => t(`verify.${k}`));
    const lines = [header, ...rows.map((row) => { const [label, , cells] = cellsOf(row); return [row.what, label, ...cells]; })];
    return `\ufeff${lines.map((line) => line.map(csvCell).join(",")).join("\r\n")}\r\n`;
  };

  document.getElementById("batch-csv").addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([csvOf()], { type: "text/csv;charset=utf-8" }));
    // Beijing time (UTC+8, no daylight saving), as every time the page shows.
    const stamp = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 16).replace(/[-:T]/g, "");
    const link = h("a", { href: url, download: t("verify.csv_file", { stamp }), hidden: true });
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

  return { redraw: () => { if (rows.length) showRows(); } };
}
