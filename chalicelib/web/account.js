// 我的账户: the holder's own data (DOMAIN rule 1) - the profile, with the ID number, phone and
// e-mail masked and whether each contact is verified; 修改密码; changing and verifying the phone
// or e-mail; 退出所有设备; 个人信息导出 (everything held about the holder, PIPL art. 45) and
// 注销账号 (PIPL art. 47). An account not yet proven sees all of it but the contact change,
// which the API allows only to proven accounts.

import { api, ApiError, session } from "./api.js";
import { announce, badge, busy, facts, field, h, replace, showMessage, uid } from "./dom.js";
import { IDENTITY_LABELS, ID_TYPE_LABELS, PASSWORD_HINT, waitText } from "./format.js";
import { RESEND_SECONDS, SIX_DIGITS, checkFields, clearFormErrors, codeInput, countdown, errorSlot, formFields,
  leave, loadMe, loadView, mount, showError, showFormError, state, waiting } from "./view.js";

const CHANNEL_LABELS = { phone: "手机号码", email: "电子邮箱" };

export async function showAccountPage(seq) {
  const body = h("div", null, h("p", { class: "loading" }, "正在加载…"));
  mount(h("section", { "aria-labelledby": "account-title" },
    h("p", null, h("a", { class: "back-link", href: "#/certificates" }, "返回证书列表")),
    h("h1", { id: "account-title", tabindex: "-1" }, "我的账户"),
    body), "我的账户");
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
    card("账户信息", profile),
    passwordCard(),
    me.identity_verified ? contactCard(refresh) : card("修改手机号码、电子邮箱",
      h("p", null, "完成身份核验后，方可添加或修改手机号码、电子邮箱。"),
      h("div", { class: "actions" }, h("a", { class: "btn btn-secondary", href: "#/identity" }, "身份核验"))),
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
  if (!masked) return "未填写";
  return [masked, " ", verified ? badge("已验证", "ok") : badge("未验证", "muted")];
}

function profileFacts(me) {
  return facts([
    ["用户名", me.username],
    ["姓名", me.name],
    ["证件类型", ID_TYPE_LABELS[me.id_type] || me.id_type],
    ["证件号码", me.id_number_masked],
    ["手机号码", contact(me.phone_masked, me.phone_verified)],
    ["电子邮箱", contact(me.email_masked, me.email_verified)],
    ["身份核验", me.identity_verified
      ? badge(IDENTITY_LABELS[me.identity_method] || "已核验", "ok")
      : [badge("未核验", "busy"), " ", h("a", { href: "#/identity" }, "去核验")]],
  ]);
}

// ---------------------------------------------------------------- 修改密码

function passwordCard() {
  const done = h("p", { class: "form-success", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "修改密码");
  const form = h("form", { novalidate: true },
    field("当前密码", passwordInput("current_password", "current-password")),
    field("新密码", passwordInput("new_password", "new-password"), PASSWORD_HINT),
    h("div", { class: "actions" }, submit),
    done, errorSlot());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    showMessage(done, "");
    if (!checkFields(form, [["current_password", "请输入当前密码"], ["new_password", "请输入新密码"]])) return;
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
      session.set(login.access_token);
      form.reset();
      const text = "密码已修改。其他设备上的登录已失效，本设备保持登录。";
      showMessage(done, text);
      announce(text);
    });
  });
  return card("修改密码", h("p", { class: "hint" }, "修改后，其他设备上的登录随即失效。"), form);
}

// ---------------------------------------------------------------- phone and e-mail

function contactCard(refresh) {
  const choices = Object.entries(CHANNEL_LABELS).map(([value, label], i) =>
    h("label", { class: "choice" }, h("input", { type: "radio", name: "channel", value, checked: i === 0 }), label));
  const valueField = field("新手机号码", h("input", { name: "value", required: true }));
  const valueInput = valueField.querySelector("input");
  const ask = h("button", { type: "submit", class: "btn btn-primary", "data-label": "获取验证码" }, "获取验证码");
  const askForm = h("form", { novalidate: true },
    h("fieldset", { class: "field choices" }, h("legend", null, "修改项目"), choices),
    valueField,
    field("当前密码", passwordInput("password", "current-password")),
    h("div", { class: "actions" }, ask),
    errorSlot());
  const chosen = () => formFields(askForm).channel;
  // One input for the new address, made a phone number's or an e-mail address's by the choice.
  const fit = () => {
    const phone = chosen() === "phone";
    valueField.querySelector("label").textContent = `新${CHANNEL_LABELS[chosen()]}`;
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
  const resend = h("button", { type: "button", class: "btn btn-secondary", "data-label": "重新获取验证码" },
    "重新获取验证码");
  const confirm = h("button", { type: "submit", class: "btn btn-primary" }, "确认修改");
  const cancel = h("button", { type: "button", class: "btn btn-secondary" }, "取消");
  const codeForm = h("form", { novalidate: true, hidden: true },
    sent,
    field("验证码", codeInput(), "6 位数字，5 分钟内有效。", resend),
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
    if (!checkFields(askForm, [["value", `请输入新${CHANNEL_LABELS[chosen()]}`], ["password", "请输入当前密码"]])) {
      return;
    }
    busy(ask, async () => {
      const answer = await sendCode(ask, askForm);
      if (!answer) return;
      const text = `验证码已发送至 ${answer.sent_to}，${waitText(answer.expires_in)}内有效。`;
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
      if (await sendCode(resend, codeForm)) announce("验证码已重新发送");
    });
  });
  cancel.addEventListener("click", () => {
    back();
    askForm.querySelector("input:checked").focus();
  });
  codeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(codeForm);
    if (!checkFields(codeForm, [["code", "请输入 6 位数字验证码", SIX_DIGITS]])) return;
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
      const text = `${CHANNEL_LABELS[channel]}已修改并验证。加注件到期等提醒将发送至新的${CHANNEL_LABELS[channel]}。`;
      showMessage(done, text);
      announce(text);
      await refresh();
    });
  });
  return card("修改手机号码、电子邮箱",
    h("p", { class: "hint" }, "新的手机号码或电子邮箱须通过验证码验证；原已验证的联系方式将收到变更通知。"),
    askForm, codeForm, done);
}

// ---------------------------------------------------------------- 退出所有设备

function logoutAllCard() {
  const button = h("button", { type: "button", class: "btn btn-secondary" }, "退出所有设备");
  const errorEl = errorSlot();
  button.addEventListener("click", () => busy(button, async () => {
    showMessage(errorEl, "");
    try {
      await api("POST", "/auth/logout-all");
    } catch (error) {
      showError(errorEl, error);
      return;
    }
    leave("已在所有设备上退出登录，请重新登录。");
  }));
  return card("退出所有设备",
    h("p", null, "在所有已登录的设备（包括本设备）上退出登录。如怀疑账号被他人使用，请同时修改密码。"),
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
  const button = h("button", { type: "button", class: "btn btn-secondary" }, "导出个人信息");
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
    saveJson(data, `个人信息导出-${me.username}.json`);
    announce("个人信息已导出");
  }));
  return card("个人信息导出",
    h("p", null, "下载本服务保存的您的个人信息（JSON 文件）：账号信息，以及核验通过后可查询的证书、加注记录和查验记录。"
      + "证件号码、手机号码等以部分隐藏的形式导出。"),
    h("div", { class: "actions" }, button), errorEl);
}

// ---------------------------------------------------------------- 注销账号

function deleteCard() {
  const submit = h("button", { type: "submit", class: "btn btn-danger-outline" }, "注销账号");
  const form = h("form", { novalidate: true },
    field("当前密码", passwordInput("password", "current-password"), "注销账号须输入当前密码。"),
    h("div", { class: "actions" }, submit),
    errorSlot());
  const titleId = uid("delete-title");
  const textId = uid("delete-text");
  const yes = h("button", { type: "button", class: "btn btn-danger" }, "确认注销");
  const no = h("button", { type: "button", class: "btn btn-secondary" }, "取消");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId, "aria-describedby": textId },
    h("h2", { id: titleId }, "确认注销账号"),
    h("p", { id: textId }, "账号注销后不能恢复，有效期内的加注件将立即撤回。确定注销吗？"),
    h("div", { class: "actions" }, yes, no));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    if (!checkFields(form, [["password", "请输入当前密码"]])) return;
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
    leave("账号已注销。证书信息仍由证书发放机构保存，如需查询，可使用同一证件重新注册。");
  }));
  const section = card("注销账号",
    h("p", null, "注销后，账号的登录信息和联系方式随即删除，所有设备上的登录立即失效，有效期内的加注件立即撤回、"
      + "不能再通过查验。证书信息由证书发放机构保存，不受影响；注销后可使用同一证件重新注册。"),
    form, dialog);
  section.classList.add("card-danger");
  return section;
}
