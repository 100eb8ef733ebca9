// 身份核验: before any certificate is shown, the account proves that its holder holds the ID
// document it was registered with (DOMAIN rule 1) - by a code sent to the mobile phone the
// issuing authority has on record for that document, or, where no phone is on record, by the
// number of one of the document's certificates and the name on it. The API never says whether
// a phone is on record (that would tell a stranger about the document), so the page always
// offers both proofs side by side.

import { api, ApiError } from "./api.js";
import { announce, busy, field, h, replace, showMessage, uid } from "./dom.js";
import { waitText } from "./format.js";
import { t } from "./i18n.js";
import { RESEND_SECONDS, SIX_DIGITS, checkFields, clearFormErrors, codeInput, countdown, current, errorSlot, formFields,
  go, loadMe, loadView, mount, nextStep, showError, showFormError, state, waiting } from "./view.js";

export async function showIdentity(seq) {
  const body = h("div", null, h("p", { class: "loading" }, t("common.loading")));
  const node = h("section", { "aria-labelledby": "identity-title" },
    h("h1", { id: "identity-title", tabindex: "-1" }, t("identity.title")),
    h("p", { class: "lead" },
      t("identity.lead")),
    body);
  mount(node, t("identity.title"));
  const me = await loadView(body, seq, loadMe);
  if (me === undefined) return;
  if (me.identity_verified) {
    go(nextStep(me));
    return;
  }
  const done = (answer) => proven(answer, seq);
  replace(body, h("div", { class: "card-grid" }, smsProof(done), certificateProof(me, done)));
}

async function proven(answer, seq) {
  announce(answer.took_over ? t("identity.took_over") : t("identity.done"));
  state.me = null; // the proof changed the account (and maybe its verified phone): read it again
  let me = null;
  try {
    me = await loadMe();
  } catch {
    // The notice view reads it again and goes on from there.
  }
  if (current(seq)) go(me ? nextStep(me) : "#/notice");
}

// ---------------------------------------------------------------- by SMS

function smsProof(done) {
  const send = h("button", { type: "button", class: "btn btn-secondary" }, t("common.get_code"));
  const sent = h("p", { class: "note", hidden: true });
  const form = h("form", { novalidate: true },
    field(t("identity.sms_code"), codeInput(), t("common.code_hint"), send),
    sent,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("common.submit"))),
    errorSlot());
  const titleId = uid("sms-title");
  const card = h("section", { class: "card", "aria-labelledby": titleId },
    h("h2", { id: titleId }, t("identity.sms_title")),
    h("p", null, t("identity.sms_intro")),
    form);

  send.addEventListener("click", () => {
    if (waiting(send)) return;
    busy(send, async () => {
      clearFormErrors(form);
      let answer;
      try {
        answer = await api("POST", "/me/identity/code");
      } catch (error) {
        showError(form.querySelector("[data-role=form-error]"), error);
        if (error instanceof ApiError && error.retryAfter) countdown(send, t("common.resend_code"), error.retryAfter);
        return;
      }
      const text = t("identity.sms_sent", { wait: waitText(answer.expires_in) });
      showMessage(sent, text);
      announce(text);
      countdown(send, t("common.resend_code"), RESEND_SECONDS);
      form.elements.namedItem("code").focus();
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    if (!checkFields(form, [["code", t("common.code_invalid"), SIX_DIGITS]])) return;
    const { code } = formFields(form);
    busy(form.querySelector("button[type=submit]"), async () => {
      let answer;
      try {
        answer = await api("POST", "/me/identity", { json: { method: "sms", code: code.trim() } });
      } catch (error) {
        showFormError(form, form, error, { invalid_code: "code" });
        return;
      }
      await done(answer);
    });
  });
  return card;
}

// ---------------------------------------------------------------- by certificate number

function certificateProof(me, done) {
  const help = h("p", { class: "note", hidden: true },
    t("identity.claimed_help"));
  const form = h("form", { novalidate: true },
    field(t("identity.cert_no"), h("input", { name: "certificate_no", type: "text", maxlength: "64",
      autocomplete: "off", autocapitalize: "characters", spellcheck: "false", class: "input-code", required: true }),
    t("identity.cert_no_hint")),
    field(t("identity.name"), h("input", { name: "name", type: "text", maxlength: "50", autocomplete: "name",
      value: me.name, required: true }), t("identity.name_hint")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("common.submit"))),
    errorSlot(),
    help);
  const titleId = uid("certificate-proof-title");
  const card = h("section", { class: "card", "aria-labelledby": titleId },
    h("h2", { id: titleId }, t("identity.cert_title")),
    h("p", null, t("identity.cert_intro")),
    form);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    help.hidden = true;
    if (!checkFields(form, [["certificate_no", t("identity.need_cert_no")], ["name", t("identity.need_name")]])) return;
    const fields = formFields(form);
    busy(form.querySelector("button[type=submit]"), async () => {
      let answer;
      try {
        answer = await api("POST", "/me/identity", { json: {
          method: "certificate_no", certificate_no: fields.certificate_no.trim(), name: fields.name.trim() } });
      } catch (error) {
        showError(form.querySelector("[data-role=form-error]"), error);
        if (error instanceof ApiError && error.code === "id_document_claimed") help.hidden = false;
        return;
      }
      await done(answer);
    });
  });
  return card;
}
