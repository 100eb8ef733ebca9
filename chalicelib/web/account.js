// 我的账户: the holder's own data (DOMAIN rule 1) - the profile, with the ID number, phone and
// e-mail masked and whether each contact is verified; 修改密码; changing and verifying the phone
// or e-mail; 退出所有设备; 个人信息导出 (everything held about the holder, PIPL art. 45) and
// 注销账号 (PIPL art. 47). An account not yet proven sees all of it but the contact change,
// which the API allows only to proven accounts.

import { api, ApiError, session } from "./api.js";
import { announce, badge, busy, facts, field, h, replace, showMessage, token, uid } from "./dom.js";
import { idTypeLabel, identityLabel, waitText } from "./format.js";
import { t } from "./i18n.js";
import { RESEND_SECONDS, SIX_DIGITS, checkFields, clearFormErrors, codeInput, countdown, errorSlot, formFields,
  leave, loadMe, loadView, mount, showError, showFormError, state, waiting } from "./view.js";

const CHANNELS = ["phone", "email"];
const channelName = (channel) => t(`account.${channel}`);

export async function showAccountPage(seq) {
  const body = h("div", null, h("p", { class: "loading" }, t("common.loading")));
  mount(h("section", { "aria-labelledby": "account-title" },
    h("p", null, h("a", { class: "back-link", href: "#/certificates" }, t("common.back_to_list"))),
    h("h1", { id: "account-title", tabindex: "-1" }, t("account.title")),
    body), t("account.title"));
  const me = await loadView(body, seq, loadMe);
  if (me === undefined) return;
  const profile = h("div", null, profileFacts(me));
  const refresh = async () => {
    state.me = null;
    try {
      replace(profile, profileFacts(await loadMe()));
    } catch {
      // The profile shown stays; the next visit reads it again.
    }
  };
  replace(body,
    card(t("account.info"), profile),
    passwordCard(),
    me.identity_verified ? contactCard(refresh) : card(t("account.contact_title"),
      h("p", null, t("account.contact_locked")),
      h("div", { class: "actions" }, h("a", { class: "btn btn-secondary", href: "#/identity" }, t("account.identity")))),
    logoutAllCard(),
    exportCard(me),
    deleteCard());
}

function card(title, ...children) {
  const id = uid("account-card");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), children);
}

function passwordInput(name, autocomplete) {
  return h("input", { name, type: "password", autocomplete, maxlength: "128", required: true });
}

// ---------------------------------------------------------------- profile

function contact(masked, verified) {
  if (!masked) return t("account.not_filled");
  return [token(masked), " ", verified ? badge(t("account.verified"), "ok") : badge(t("account.unverified"), "muted")];
}

function profileFacts(me) {
  return facts([
    [t("account.username"), me.username],
    [t("account.name"), me.name],
    [t("account.id_type"), idTypeLabel(me.id_type)],
    [t("account.id_number"), token(me.id_number_masked)],
    [t("account.phone"), contact(me.phone_masked, me.phone_verified)],
    [t("account.email"), contact(me.email_masked, me.email_verified)],
    [t("account.identity"), me.identity_verified
      ? badge(identityLabel(me.identity_method), "ok")
      : [badge(t("account.identity_unverified"), "busy"), " ", h("a", { href: "#/identity" }, t("account.go_verify"))]],
  ]);
}

// ---------------------------------------------------------------- 修改密码

function passwordCard() {
  const done = h("p", { class: "form-success", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("account.password_submit"));
  const form = h("form", { novalidate: true },
    field(t("account.current_password"), passwordInput("current_password", "current-password")),
    field(t("account.new_password"), passwordInput("new_password", "new-password"), t("password.hint")),
    h("div", { class: "actions" }, submit),
    done, errorSlot());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    showMessage(done, "");
    if (!checkFields(form, [["current_password", t("account.need_current_password")], ["new_password", t("account.need_new_password")]])) return;
    const fields = formFields(form);
    busy(submit, async () => {
      let login;
      try {
        login = await api("POST", "/me/password", {
          json: { current_password: fields.current_password, new_password: fields.new_password } });
      } catch (error) {
        showFormError(form, form, error, { wrong_password: "current_password", weak_password: "new_password" });
        return;
      }
      // Every other session ended; this one goes on with the token of the new login answer.
      session.set(login);
      form.reset();
      const text = t("account.password_done");
      showMessage(done, text);
      announce(text);
    });
  });
  return card(t("account.password_title"), h("p", { class: "hint" }, t("account.password_hint")), form);
}

// ---------------------------------------------------------------- phone and e-mail

function contactCard(refresh) {
  const choices = CHANNELS.map((value, i) =>
    h("label", { class: "choice" }, h("input", { type: "radio", name: "channel", value, checked: i === 0 }),
      channelName(value)));
  const valueField = field(t("account.new_value", { channel: channelName("phone") }),
    h("input", { name: "value", required: true }));
  const valueInput = valueField.querySelector("input");
  const ask = h("button", { type: "submit", class: "btn btn-primary", "data-label": t("common.get_code") },
    t("common.get_code"));
  const askForm = h("form", { novalidate: true },
    h("fieldset", { class: "field choices" }, h("legend", null, t("account.contact_what")), choices),
    valueField,
    field(t("account.current_password"), passwordInput("password", "current-password")),
    h("div", { class: "actions" }, ask),
    errorSlot());
  const chosen = () => formFields(askForm).channel;
  // One input for the new address, made a phone number's or an e-mail address's by the choice.
  const fit = () => {
    const phone = chosen() === "phone";
    valueField.querySelector("label").textContent = t("account.new_value", { channel: channelName(chosen()) });
    Object.entries({ type: phone ? "tel" : "email", inputmode: phone ? "tel" : "email",
      autocomplete: phone ? "tel" : "email", maxlength: phone ? "20" : "254" })
      .forEach(([name, value]) => valueInput.setAttribute(name, value));
  };
  fit();
  for (const radio of askForm.querySelectorAll("input[type=radio]")) {
    radio.addEventListener("change", () => {
      clearFormErrors(askForm);
      valueInput.value = "";
      fit();
    });
  }

  const sent = h("p", { class: "note" });
  const resend = h("button", { type: "button", class: "btn btn-secondary", "data-label": t("common.resend_code") },
    t("common.resend_code"));
  const confirm = h("button", { type: "submit", class: "btn btn-primary" }, t("account.confirm_change"));
  const cancel = h("button", { type: "button", class: "btn btn-secondary" }, t("common.cancel"));
  const codeForm = h("form", { novalidate: true, hidden: true },
    sent,
    field(t("common.code_label"), codeInput(), t("common.code_hint"), resend),
    h("div", { class: "actions" }, confirm, cancel),
    errorSlot());
  const done = h("p", { class: "form-success", hidden: true });

  // The request the code form answers: read from the first form, which keeps its values
  // (hidden) until the change is done or cancelled.
  const request = () => {
    const fields = formFields(askForm);
    return { channel: fields.channel, value: fields.value.trim(), password: fields.password };
  };
  const sendCode = async (button, form) => {
    let answer;
    try {
      answer = await api("POST", "/me/contact/code", { json: request() });
    } catch (error) {
      showFormError(form, form, error, { wrong_password: "password" });
      if (error instanceof ApiError && error.retryAfter) countdown(button, button.dataset.label, error.retryAfter);
      return null;
    }
    countdown(resend, resend.dataset.label, RESEND_SECONDS);
    return answer;
  };
  const back = () => {
    askForm.reset();
    fit();
    codeForm.hidden = true;
    askForm.hidden = false;
  };

  askForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (waiting(ask)) return;
    clearFormErrors(askForm);
    showMessage(done, "");
    if (!checkFields(askForm, [["value", t("account.need_value", { channel: channelName(chosen()) })],
      ["password", t("account.need_current_password")]])) {
      return;
    }
    busy(ask, async () => {
      const answer = await sendCode(ask, askForm);
      if (!answer) return;
      const text = t("account.code_sent", { to: answer.sent_to, wait: waitText(answer.expires_in) });
      replace(sent, text);
      clearFormErrors(codeForm);
      codeForm.reset();
      askForm.hidden = true;
      codeForm.hidden = false;
      announce(text);
      codeForm.elements.namedItem("code").focus();
    });
  });
  resend.addEventListener("click", () => {
    if (waiting(resend)) return;
    clearFormErrors(codeForm);
    busy(resend, async () => {
      if (await sendCode(resend, codeForm)) announce(t("common.code_resent"));
    });
  });
  cancel.addEventListener("click", () => {
    back();
    askForm.querySelector("input:checked").focus();
  });
  codeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(codeForm);
    if (!checkFields(codeForm, [["code", t("common.code_invalid"), SIX_DIGITS]])) return;
    const { channel, value } = request();
    const { code } = formFields(codeForm);
    busy(confirm, async () => {
      try {
        await api("POST", "/me/contact", { json: { channel, value, code: code.trim() } });
      } catch (error) {
        showFormError(codeForm, codeForm, error, { invalid_code: "code" });
        return;
      }
      back();
      const text = t("account.contact_done", { channel: channelName(channel) });
      showMessage(done, text);
      announce(text);
      await refresh();
    });
  });
  return card(t("account.contact_title"),
    h("p", { class: "hint" }, t("account.contact_hint")),
    askForm, codeForm, done);
}

// ---------------------------------------------------------------- 退出所有设备

function logoutAllCard() {
  const button = h("button", { type: "button", class: "btn btn-secondary" }, t("account.logout_all"));
  const errorEl = errorSlot();
  button.addEventListener("click", () => busy(button, async () => {
    showMessage(errorEl, "");
    try {
      await api("POST", "/auth/logout-all");
    } catch (error) {
      showError(errorEl, error);
      return;
    }
    leave(t("account.logout_all_done"));
  }));
  return card(t("account.logout_all_title"),
    h("p", null, t("account.logout_all_text")),
    h("div", { class: "actions" }, button), errorEl);
}

// ---------------------------------------------------------------- 个人信息导出

// Saves the data as a JSON file through a link to a Blob: the file is made in the page, so no
// URL of another host (which the CSP would refuse) is involved.
function saveJson(data, name) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  // Not a view timer: the download outlives the view. A minute is ample for it to start.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function exportCard(me) {
  const button = h("button", { type: "button", class: "btn btn-secondary" }, t("account.export"));
  const errorEl = errorSlot();
  button.addEventListener("click", () => busy(button, async () => {
    showMessage(errorEl, "");
    let data;
    try {
      data = await api("GET", "/me/export");
    } catch (error) {
      showError(errorEl, error);
      return;
    }
    saveJson(data, t("account.export_file", { username: me.username }));
    announce(t("account.export_done"));
  }));
  return card(t("account.export_title"),
    h("p", null, t("account.export_text")),
    h("div", { class: "actions" }, button), errorEl);
}

// ---------------------------------------------------------------- 注销账号

function deleteCard() {
  const submit = h("button", { type: "submit", class: "btn btn-danger-outline" }, t("account.delete"));
  const form = h("form", { novalidate: true },
    field(t("account.current_password"), passwordInput("password", "current-password"), t("account.delete_password_hint")),
    h("div", { class: "actions" }, submit),
    errorSlot());
  const titleId = uid("delete-title");
  const textId = uid("delete-text");
  const yes = h("button", { type: "button", class: "btn btn-danger" }, t("account.delete_yes"));
  const no = h("button", { type: "button", class: "btn btn-secondary" }, t("common.cancel"));
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId, "aria-describedby": textId },
    h("h2", { id: titleId }, t("account.delete_confirm_title")),
    h("p", { id: textId }, t("account.delete_confirm_text")),
    h("div", { class: "actions" }, yes, no));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    if (!checkFields(form, [["password", t("account.need_current_password")]])) return;
    dialog.showModal();
    no.focus(); // the safe choice first: the step cannot be undone
  });
  no.addEventListener("click", () => dialog.close());
  yes.addEventListener("click", () => busy(yes, async () => {
    try {
      await api("DELETE", "/me", { json: { password: formFields(form).password } });
    } catch (error) {
      dialog.close();
      showFormError(form, form, error, { wrong_password: "password" });
      return;
    }
    dialog.close();
    leave(t("account.delete_done"));
  }));
  const section = card(t("account.delete_title"),
    h("p", null, t("account.delete_text")),
    form, dialog);
  section.classList.add("card-danger");
  return section;
}
