// 持证人登录 and 用户注册: the two screens of a holder who is not signed in. Registration checks
// every field before the request and shows all that are wrong at once, each next to its field;
// the server's refusal goes next to the field it concerns.

import { api, session } from "./api.js";
import { announce, busy, h, showMessage } from "./dom.js";
import { ID_TYPES, idTypeLabel } from "./format.js";
import { t } from "./i18n.js";
import { startSessionTimers } from "./session.js";
import { checkFields, clearFormErrors, errorSlot, formFields, go, mount, nextStep, showFormError, state,
  view } from "./view.js";

// Codes that concern one field even though the API's answer names none.
const FIELD_OF_CODE = { username_taken: "username", invalid_id_number: "id_number", weak_password: "password" };

// A field with fixed ids: `#<id>-error` is where its message goes (the tests and the draft rely on them).
function fixedField(id, label, input, hintText, { required = false, optional = false } = {}) {
  input.id = id;
  input.setAttribute("aria-describedby", [hintText ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" "));
  return h("div", { class: "field" },
    h("label", { for: id }, label,
      required ? [" ", h("span", { class: "req", "aria-hidden": "true" }, "*")] : null,
      optional ? h("span", { class: "optional" }, t("common.optional")) : null),
    input,
    hintText ? h("p", { class: "hint", id: `${id}-hint` }, hintText) : null,
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

export function showLogin(message) {
  const status = h("p", { class: "form-success", "data-role": "form-status", hidden: true });
  const errorEl = errorSlot();
  const form = h("form", { "data-form": "login", novalidate: true },
    fixedField("login-username", t("login.username"), h("input", { name: "username", type: "text",
      autocomplete: "username", autocapitalize: "off", spellcheck: "false", required: true })),
    fixedField("login-password", t("login.password"), h("input", { name: "password", type: "password",
      autocomplete: "current-password", required: true })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, t("login.submit")),
      h("a", { class: "btn btn-link", href: "#/password" }, t("login.forgot"))));
  const node = h("section", { class: "panel narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", tabindex: "-1" }, t("login.title")),
    h("p", { class: "lead" }, t("login.lead")),
    status, errorEl, form,
    h("div", { class: "divider" }),
    h("p", null, t("login.no_account")),
    h("p", null, h("a", { class: "btn btn-secondary", href: "#/register" }, t("login.register"))));
  if (message) showMessage(errorEl, message);
  if (state.flash) {
    showMessage(status, state.flash.text);
    if (state.flash.username) form.elements.namedItem("username").value = state.flash.username;
    state.flash = null;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(node);
    if (message) showMessage(errorEl, message); // the timed-out note stays until the login succeeds
    if (!checkFields(form, [["username", t("login.need_username")], ["password", t("login.need_password")]])) return;
    const { username, password } = formFields(form);
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        await logIn(username.trim(), password);
      } catch (error) {
        showMessage(errorEl, "");
        showFormError(node, form, error);
      }
    });
  });
  mount(node, t("login.title"));
}

export async function logIn(username, password) {
  const login = await api("POST", "/auth/login", { json: { username, password }, auth: false });
  session.set(login, username);
  state.me = null;
  startSessionTimers();
  announce(t("login.done"));
  go(nextStep(login));
}

// GB 11643-1999: the 18th character of a resident ID number is its check digit.
function residentIdOk(value) {
  const v = value.toUpperCase();
  if (!/^\d{17}[\dX]$/.test(v)) return false;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(v[i]), 0);
  return "10X98765432"[sum % 11] === v[17];
}

function passwordOk(password, username) {
  if (password.length < 8) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  return classes >= 3 && !(username && password.toLowerCase().includes(username.toLowerCase()));
}

export function showRegister() {
  const idType = h("select", { name: "id_type", required: true },
    ID_TYPES.map((code) => h("option", { value: code, selected: code === "resident_id" }, idTypeLabel(code))));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("register.submit"));
  const form = h("form", { "data-form": "register", "data-draft": "register", novalidate: true },
    fixedField("reg-username", t("register.username"), h("input", { name: "username", type: "text",
      autocomplete: "username", autocapitalize: "off", spellcheck: "false", required: true, maxlength: "32" }),
    t("register.username_hint"), { required: true }),
    fixedField("reg-password", t("register.password"), h("input", { name: "password", type: "password",
      autocomplete: "new-password", required: true, maxlength: "128" }), t("password.hint"), { required: true }),
    fixedField("reg-name", t("register.name"), h("input", { name: "name", type: "text", autocomplete: "name",
      required: true, maxlength: "50" }), null, { required: true }),
    fixedField("reg-id-type", t("register.id_type"), idType, null, { required: true }),
    fixedField("reg-id-number", t("register.id_number"), h("input", { name: "id_number", type: "text",
      autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: true, maxlength: "32",
      class: "input-code" }), t("register.id_number_hint"), { required: true }),
    fixedField("reg-phone", t("register.phone"), h("input", { name: "phone", type: "tel", autocomplete: "tel",
      inputmode: "tel", maxlength: "20" }), t("register.phone_hint"), { optional: true }),
    fixedField("reg-email", t("register.email"), h("input", { name: "email", type: "email", autocomplete: "email",
      inputmode: "email", maxlength: "254", spellcheck: "false" }), null, { optional: true }),
    h("div", { class: "actions" }, submit,
      h("a", { class: "btn btn-secondary", href: "#/login" }, t("common.back_to_login"))));
  const node = h("section", { class: "panel narrow", "aria-labelledby": "register-title" },
    h("p", null, h("a", { class: "back-link", href: "#/login" }, t("common.back_to_login"))),
    h("h1", { id: "register-title", tabindex: "-1" }, t("register.title")),
    h("p", { class: "lead" }, t("register.lead")),
    errorSlot(), form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(node);
    const fields = formFields(form);
    const username = fields.username.trim();
    const ok = checkFields(form, [
      ["username", t("register.err_username"), /^[A-Za-z0-9_]{4,32}$/],
      ["password", t("register.err_password"), (value) => passwordOk(value, username)],
      ["name", t("register.err_name")],
      ["id_number", fields.id_type === "resident_id" ? t("register.err_resident_id") : t("register.err_id_number"),
        (value) => fields.id_type !== "resident_id" || residentIdOk(value)],
      ...(fields.phone.trim() ? [["phone", t("register.err_phone"), /^\+?[\d\s-]{6,20}$/]] : []),
      ...(fields.email.trim() ? [["email", t("register.err_email"), /^[^\s@]+@[^\s@]+\.[^\s@]+$/]] : []),
    ]);
    if (!ok) return;
    const body = {
      username, password: fields.password, name: fields.name.trim(),
      id_type: fields.id_type, id_number: fields.id_number.trim().toUpperCase(),
    };
    // Optional fields are left out when empty rather than sent as "".
    if (fields.phone.trim()) body.phone = fields.phone.trim();
    if (fields.email.trim()) body.email = fields.email.trim();
    await busy(submit, async () => {
      try {
        await api("POST", "/auth/register", { json: body, auth: false });
      } catch (error) {
        showFormError(node, form, error, FIELD_OF_CODE);
        return;
      }
      announce(t("register.done"));
      try {
        await logIn(body.username, body.password);
      } catch (error) {
        go("#/login");
        showFormError(view(), view().querySelector("form"), error);
      }
    });
  });
  mount(node, t("register.title"));
}
