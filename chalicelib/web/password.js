// 忘记密码: a code sent to the account's verified phone or e-mail resets the password; a holder
// who forgot the username too names the ID document instead, and the code goes to the phone the
// issuing authority has on record for it. The API answers a request for a code the same way
// whether or not anything matched (it tells nobody which accounts exist), so the page always
// goes on to the code form and says where a code went if there was one to send.

import { api, ApiError } from "./api.js";
import { announce, busy, field, h, replace } from "./dom.js";
import { ID_TYPE_LABELS, PASSWORD_HINT } from "./format.js";
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
        ? "如该用户名的账号有已验证的手机号码或电子邮箱，验证码已发送至该手机或邮箱，5 分钟内有效。"
        : "如该证件有核验通过的账号，且证书发放机构为该证件登记了手机号码，验证码已发送至该手机，5 分钟内有效。";
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
      if (await requestCode(identifier, reset.resend, reset.form)) announce("验证码已重新发送");
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
      [["code", "请输入 6 位数字验证码", SIX_DIGITS], ["new_password", "请输入新密码"]])) return;
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
      state.flash = { text: `密码已重置，您的用户名是 ${answer.username}。请使用新密码登录。`,
        username: answer.username };
      announce(state.flash.text);
      go("#/login");
    });
  });

  mount(h("section", { class: "panel narrow", "aria-labelledby": "forgot-title" },
    h("p", null, h("a", { class: "back-link", href: "#/login" }, "返回登录")),
    h("h1", { id: "forgot-title", tabindex: "-1" }, "忘记密码"),
    h("p", { class: "lead" }, "通过验证码重置密码。重置后，账号在所有设备上的登录随即失效，因密码错误造成的锁定同时解除。"),
    ask.form, reset.form), "忘记密码");
}

// Step 1: the username, or the ID document when the username is forgotten too.
function askForm() {
  const byUsername = h("input", { type: "radio", name: "by", value: "username", checked: true });
  const byDocument = h("input", { type: "radio", name: "by", value: "id_document" });
  const usernameField = field("用户名", h("input", { name: "username", type: "text", autocomplete: "username",
    autocapitalize: "off", spellcheck: "false", maxlength: "32", required: true }),
  "验证码发送至账号已验证的手机号码或电子邮箱。");
  const documentFields = h("div", { hidden: true },
    field("证件类型", h("select", { name: "id_type", required: true },
      Object.entries(ID_TYPE_LABELS).map(([value, label]) => h("option", { value }, label)))),
    field("证件号码", h("input", { name: "id_number", type: "text", autocomplete: "off",
      autocapitalize: "characters", spellcheck: "false", maxlength: "32", required: true }),
    "注册时填写的证件。验证码发送至证书发放机构为该证件登记的手机号码，重置后页面将告知您的用户名。"));
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-label": "获取验证码" }, "获取验证码");
  const form = h("form", { novalidate: true },
    h("fieldset", { class: "field choices" },
      h("legend", null, "找回方式"),
      h("label", { class: "choice" }, byUsername, "按用户名"),
      h("label", { class: "choice" }, byDocument, "按证件（忘记用户名时）")),
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
      if (!checkFields(form, [["id_number", "请输入证件号码"]])) return null;
      return { id_type: fields.id_type, id_number: fields.id_number.trim() };
    }
    if (!checkFields(form, [["username", "请输入用户名"]])) return null;
    return { username: fields.username.trim() };
  };
  return { form, submit, identifier };
}

// Step 2: the code and the new password.
function resetForm() {
  const sent = h("p", { class: "note" });
  const resend = h("button", { type: "button", class: "btn btn-secondary", "data-label": "重新获取验证码" },
    "重新获取验证码");
  const change = h("button", { type: "button", class: "btn btn-link" }, "修改找回方式");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "重置密码");
  const form = h("form", { novalidate: true, hidden: true },
    h("h2", null, "设置新密码"),
    sent,
    field("验证码", codeInput(), "6 位数字，5 分钟内有效。", resend),
    field("新密码", h("input", { name: "new_password", type: "password", autocomplete: "new-password",
      maxlength: "128", required: true }), PASSWORD_HINT),
    h("div", { class: "actions" }, submit, change),
    errorSlot());
  return { form, sent, resend, change, submit };
}
