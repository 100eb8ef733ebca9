// 身份核验: before any certificate is shown, the account proves that its holder holds the ID
// document it was registered with (DOMAIN rule 1) - by a code sent to the mobile phone the
// issuing authority has on record for that document, or, where no phone is on record, by the
// number of one of the document's certificates and the name on it. The API never says whether
// a phone is on record (that would tell a stranger about the document), so the page always
// offers both proofs side by side.

import { api, ApiError } from "./api.js";
import { announce, busy, field, h, replace, showMessage, uid } from "./dom.js";
import { waitText } from "./format.js";
import { RESEND_SECONDS, SIX_DIGITS, checkFields, clearFormErrors, codeInput, countdown, current, errorSlot, formFields,
  go, loadMe, loadView, mount, nextStep, showError, showFormError, state, waiting } from "./view.js";

export async function showIdentity(seq) {
  const body = h("div", null, h("p", { class: "loading" }, "正在加载…"));
  const node = h("section", { "aria-labelledby": "identity-title" },
    h("h1", { id: "identity-title", tabindex: "-1" }, "身份核验"),
    h("p", { class: "lead" },
      "为防止他人冒用您的证件信息，首次查询证书前，须核验您是注册时所填证件的本人。可任选以下一种方式，核验通过后即可查询证书。"),
    body);
  mount(node, "身份核验");
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
  announce(answer.took_over
    ? "身份核验通过。该证件已改由本账号查询证书，原先关联该证件的账号已不能再查询。"
    : "身份核验通过");
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
  const send = h("button", { type: "button", class: "btn btn-secondary" }, "获取验证码");
  const sent = h("p", { class: "note", hidden: true });
  const form = h("form", { novalidate: true },
    field("短信验证码", codeInput(), "6 位数字，5 分钟内有效。", send),
    sent,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "提交")),
    errorSlot());
  const titleId = uid("sms-title");
  const card = h("section", { class: "card", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "短信验证码核验"),
    h("p", null, "验证码发送至证书发放机构为您的证件登记的手机号码，而不是注册时填写的手机号码。"),
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
        if (error instanceof ApiError && error.retryAfter) countdown(send, "重新获取验证码", error.retryAfter);
        return;
      }
      const text = `如证书发放机构登记了您证件的手机号码，验证码已发送至该手机，${waitText(answer.expires_in)}内有效。`
        + "未收到短信的，可使用证书编号核验。";
      showMessage(sent, text);
      announce(text);
      countdown(send, "重新获取验证码", RESEND_SECONDS);
      form.elements.namedItem("code").focus();
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    if (!checkFields(form, [["code", "请输入 6 位数字验证码", SIX_DIGITS]])) return;
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
    "如您是该证件的本人，请使用短信验证码核验：核验通过后，证件即改由您的账号查询证书。"
    + "证书发放机构未登记您的手机号码的，请联系证书发放机构登记后再核验。");
  const form = h("form", { novalidate: true },
    field("证书编号", h("input", { name: "certificate_no", type: "text", maxlength: "64",
      autocomplete: "off", autocapitalize: "characters", spellcheck: "false", class: "input-code", required: true }),
    "本人任一证书的证书编号，可在纸质证书或证书电子文件上找到。"),
    field("姓名", h("input", { name: "name", type: "text", maxlength: "50", autocomplete: "name",
      value: me.name, required: true }), "须与证书上的姓名一致。"),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "提交")),
    errorSlot(),
    help);
  const titleId = uid("certificate-proof-title");
  const card = h("section", { class: "card", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "证书编号核验"),
    h("p", null, "证书发放机构未登记您的手机号码的，请填写本人证书的证书编号和证书上的姓名。"),
    form);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFormErrors(form);
    help.hidden = true;
    if (!checkFields(form, [["certificate_no", "请输入证书编号"], ["name", "请输入姓名"]])) return;
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
