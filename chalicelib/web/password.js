// 忘记密码: a code sent to the account's verified phone or e-mail resets the password; a holder
// who forgot the username too names the ID document instead, and the code goes to the phone the
// issuing authority has on record for it. The API answers a request for a code the same way
// whether or not anything matched (it tells nobody which accounts exist), so the page always
// goes on to the code form and says where a code went if there was one to send.

import { api, ApiError } from "./api.js";
import { announce, busy, field, h, replace } from "./dom.js";
import { ID_TYPES, idTypeLabel } from "./format.js";
import { t } from "./i18n.js";
import { RESEND_SECONDS, SIX_DIGITS, checkFields, clearFormErrors, codeInput, countdown, errorSlot, formFields, go,
  mount, showFormError, state, waiting } from "./view.js";

export function showForgotPassword() {
  const ask = askForm();
  const reset = resetForm();
  let identifier = null; // what the code was asked for with: the reset names it again

  // POST /auth/password/forgot; true when the API took the request.
  const requestCode = async (body, button, form) => {
    try {
      await api("POST", "/auth/password/forgot", { json: body, auth: false });
    } catch (error) {
      showFormError(form, form, error, { invalid_id_number: "id_number" });
      if (error instanceof ApiError && error.retryAfter) countdown(button, button.dataset.label, error.retryAfter);
      return false;
    }
    countdown(reset.resend, reset.resend.dataset.label, RESEND_SECONDS);
    return true;
  };

  ask.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (waiting(ask.submit)) return;
    clearFormErrors(ask.form);
    const body = ask.identifier();
    if (!body) return;
    busy(ask.submit, async () => {
      if (!await requestCode(body, ask.submit, ask.form)) return;
      identifier = body;
      const text = body.username
        ? t("forgot.sent_username") : t("forgot.sent_document");
      replace(reset.sent, text);
      clearFormErrors(reset.form);
      reset.form.reset();
      ask.form.hidden = true;
      reset.form.hidden = false;
      announce(text);
      reset.form.elements.namedItem("code").focus();
    });
  });

  reset.resend.addEventListener("click", () => {
    if (waiting(reset.resend)) return;
    clearFormErrors(reset.form);
    busy(reset.resend, async () => {
      if (await requestCode(identifier, reset.resend, reset.form)) announce(t("common.code_resent"));
    });
  });

  reset.change.addEventListener("click", () => {
    reset.form.hidden = true;
    ask.form.hidden = false;
    ask.form.querySelector("input:checked").focus();
  });

  reset.form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(reset.form);
    if (!checkFields(reset.form,
      [["code", t("common.code_invalid"), SIX_DIGITS], ["new_password", t("forgot.need_new_password")]])) return;
    const { code, new_password: newPassword } = formFields(reset.form);
    busy(reset.submit, async () => {
      let answer;
      try {
        answer = await api("POST", "/auth/password/reset", {
          json: { ...identifier, code: code.trim(), new_password: newPassword }, auth: false });
      } catch (error) {
        showFormError(reset.form, reset.form, error, { invalid_code: "code", weak_password: "new_password" });
        return;
      }
      state.flash = { text: t("forgot.done", { username: answer.username }),
        username: answer.username };
      announce(state.flash.text);
      go("#/login");
    });
  });

  mount(h("section", { class: "panel narrow", "aria-labelledby": "forgot-title" },
    h("p", null, h("a", { class: "back-link", href: "#/login" }, t("common.back_to_login"))),
    h("h1", { id: "forgot-title", tabindex: "-1" }, t("forgot.title")),
    h("p", { class: "lead" }, t("forgot.lead")),
    ask.form, reset.form), t("forgot.title"));
}

// Step 1: the username, or the ID document when the username is forgotten too.
function askForm() {
  const byUsername = h("input", { type: "radio", name: "by", value: "username", checked: true });
  const byDocument = h("input", { type: "radio", name: "by", value: "id_document" });
  const usernameField = field(t("forgot.username"), h("input", { name: "username", type: "text", autocomplete: "username",
    autocapitalize: "off", spellcheck: "false", maxlength: "32", required: true }),
  t("forgot.username_hint"));
  const documentFields = h("div", { hidden: true },
    field(t("forgot.id_type"), h("select", { name: "id_type", required: true },
      ID_TYPES.map((value) => h("option", { value }, idTypeLabel(value))))),
    field(t("forgot.id_number"), h("input", { name: "id_number", type: "text", autocomplete: "off",
      autocapitalize: "characters", spellcheck: "false", maxlength: "32", required: true }),
    t("forgot.id_number_hint")));
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-label": t("common.get_code") },
    t("common.get_code"));
  const form = h("form", { novalidate: true },
    h("fieldset", { class: "field choices" },
      h("legend", null, t("forgot.by")),
      h("label", { class: "choice" }, byUsername, t("forgot.by_username")),
      h("label", { class: "choice" }, byDocument, t("forgot.by_document"))),
    usernameField, documentFields,
    h("div", { class: "actions" }, submit),
    errorSlot());
  for (const radio of [byUsername, byDocument]) {
    radio.addEventListener("change", () => {
      clearFormErrors(form);
      usernameField.hidden = byDocument.checked;
      documentFields.hidden = !byDocument.checked;
    });
  }
  // The request body for the chosen way, or null (and a marked field) when it is not filled in.
  const identifier = () => {
    const fields = formFields(form);
    if (byDocument.checked) {
      if (!checkFields(form, [["id_number", t("forgot.need_id_number")]])) return null;
      return { id_type: fields.id_type, id_number: fields.id_number.trim() };
    }
    if (!checkFields(form, [["username", t("forgot.need_username")]])) return null;
    return { username: fields.username.trim() };
  };
  return { form, submit, identifier };
}

// Step 2: the code and the new password.
function resetForm() {
  const sent = h("p", { class: "note" });
  const resend = h("button", { type: "button", class: "btn btn-secondary", "data-label": t("common.resend_code") },
    t("common.resend_code"));
  const change = h("button", { type: "button", class: "btn btn-link" }, t("forgot.change"));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("forgot.reset"));
  const form = h("form", { novalidate: true, hidden: true },
    h("h2", null, t("forgot.new_title")),
    sent,
    field(t("common.code_label"), codeInput(), t("common.code_hint"), resend),
    field(t("forgot.new_password"), h("input", { name: "new_password", type: "password", autocomplete: "new-password",
      maxlength: "128", required: true }), t("password.hint")),
    h("div", { class: "actions" }, submit, change),
    errorSlot());
  return { form, sent, resend, change, submit };
}
