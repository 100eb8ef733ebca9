// The holder's page: login and registration, the service notice, the certificate list, and
// for an e-certificate the annotation (加注) and download view, for a 证书电子文件 its file and
// its checks; the identity proof, the password reset and the account page are screens of their
// own (identity.js, password.js, account.js). Views are addressed by the URL's hash
// (#/certificates/…), so a reload or the back button keeps the place.

import { showAccountPage } from "./account.js";
import { api, ApiError, onIdentityNotVerified, onNoticeNotAccepted, onUnauthorized, session } from "./api.js";
import { announce, badge, busy, cloneTemplate, facts, h, replace, showMessage, uid } from "./dom.js";
import { ANNOTATION_TONE, CERT_TONE, KIND_LABELS, date, dateTime, text, validity } from "./format.js";
import { showIdentity } from "./identity.js";
import { showForgotPassword } from "./password.js";
import { clearFormErrors, current, formFields, go, later, leave, loadMe, loadView, mount, nextStep, openFile, setHash,
  showAccount, showError, showFormError, startRouter, state, stopTimers, verificationLog } from "./view.js";

const view = document.getElementById("view");

const PROTECTED = /^#\/(certificates(\/[A-Za-z0-9_-]+)?|account)$/;
const SIGNED_OUT_ONLY = ["#/login", "#/register", "#/password"];

// ---------------------------------------------------------------- routing

function route() {
  stopTimers();
  state.seq += 1;
  const seq = state.seq;
  const hash = location.hash || "#/certificates";
  if (!session.token) {
    showAccount(null);
    if (hash === "#/register") return showRegister();
    if (hash === "#/password") return showForgotPassword();
    if (PROTECTED.test(hash)) state.returnTo = hash;
    return showLogin();
  }
  if (SIGNED_OUT_ONLY.includes(hash)) return go("#/certificates");
  if (hash === "#/identity") return showIdentity(seq);
  if (hash === "#/notice") return showNotice(seq);
  if (hash === "#/account") return showAccountPage(seq);
  const match = hash.match(/^#\/certificates\/([A-Za-z0-9_-]+)$/);
  if (match) return showCertificate(match[1], seq);
  setHash("#/certificates");
  return showCertificates(seq);
}

onUnauthorized((error) => {
  // Requests in flight together may all come back 401: the first one handles it.
  if (!session.token) return;
  session.clear();
  state.me = null;
  if (PROTECTED.test(location.hash)) state.returnTo = location.hash;
  stopTimers();
  state.seq += 1;
  showAccount(null);
  setHash("#/login");
  showLogin(error.message);
  announce(error.message);
});

onNoticeNotAccepted(() => {
  if (PROTECTED.test(location.hash)) state.returnTo = location.hash;
  if (state.me) state.me.notice_accepted = false;
  go("#/notice");
});

onIdentityNotVerified(() => {
  if (PROTECTED.test(location.hash)) state.returnTo = location.hash;
  if (state.me) state.me.identity_verified = false;
  go("#/identity");
});

// ---------------------------------------------------------------- header

document.getElementById("logout").addEventListener("click", async (event) => {
  await busy(event.currentTarget, async () => {
    try {
      await api("POST", "/auth/logout");
    } catch {
      // The session ends on this side whatever the server said.
    }
  });
  leave();
  announce("已退出登录");
});

// Codes that concern one field even though the API's answer names none.
const FIELD_OF_CODE = { username_taken: "username" };

// ---------------------------------------------------------------- login and registration

function showLogin(message) {
  const node = cloneTemplate("tpl-login");
  const form = node.querySelector("form");
  if (message) showMessage(node.querySelector("[data-role=form-error]"), message);
  if (state.flash) {
    showMessage(node.querySelector("[data-role=form-status]"), state.flash.text);
    if (state.flash.username) form.elements.namedItem("username").value = state.flash.username;
    state.flash = null;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(node);
    const { username, password } = formFields(form);
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        await logIn(username.trim(), password);
      } catch (error) {
        showFormError(node, form, error);
      }
    });
  });
  mount(node, "持证人登录");
}

async function logIn(username, password) {
  const login = await api("POST", "/auth/login", { json: { username, password }, auth: false });
  session.set(login.access_token);
  state.me = null;
  announce("登录成功");
  go(nextStep(login));
}

function showRegister() {
  const node = cloneTemplate("tpl-register");
  const form = node.querySelector("form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(node);
    const fields = formFields(form);
    const body = {
      username: fields.username.trim(), password: fields.password, name: fields.name.trim(),
      id_type: fields.id_type, id_number: fields.id_number.trim(),
    };
    // Optional fields are left out when empty rather than sent as "".
    if (fields.phone.trim()) body.phone = fields.phone.trim();
    if (fields.email.trim()) body.email = fields.email.trim();
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        await api("POST", "/auth/register", { json: body, auth: false });
      } catch (error) {
        showFormError(node, form, error, FIELD_OF_CODE);
        return;
      }
      announce("注册成功，正在登录");
      try {
        await logIn(body.username, body.password);
      } catch (error) {
        go("#/login");
        showFormError(view, view.querySelector("form"), error);
      }
    });
  });
  mount(node, "用户注册");
}

// ---------------------------------------------------------------- service notice

async function showNotice(seq) {
  const node = cloneTemplate("tpl-notice");
  const accept = node.querySelector("[data-action=accept]");
  const errorEl = node.querySelector("[data-role=form-error]");
  mount(node, "服务须知");
  let notice;
  let me;
  try {
    [notice, me] = await Promise.all([api("GET", "/notice", { auth: false }), loadMe()]);
  } catch (error) {
    if (current(seq)) showError(errorEl, error);
    return;
  }
  if (!current(seq)) return;
  if (!me.identity_verified) {
    go("#/identity"); // the proof comes first (see nextStep)
    return;
  }
  node.querySelector("[data-role=notice-title]").textContent = notice.title;
  const paragraphs = notice.body.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  replace(node.querySelector("[data-role=notice-body]"), paragraphs.map((p) => h("p", null, p)));
  accept.disabled = false;
  accept.addEventListener("click", () => busy(accept, async () => {
    showMessage(errorEl, "");
    try {
      await api("POST", "/notice/accept", { json: { version: notice.version } });
    } catch (error) {
      showError(errorEl, error);
      if (error instanceof ApiError && error.code === "notice_outdated") {
        const fresh = await api("GET", "/notice", { auth: false }).catch(() => null);
        if (fresh) {
          notice = fresh;
          node.querySelector("[data-role=notice-title]").textContent = fresh.title;
          replace(node.querySelector("[data-role=notice-body]"),
            fresh.body.split(/\n\s*\n/).filter((p) => p.trim()).map((p) => h("p", null, p.trim())));
        }
      }
      return;
    }
    me.notice_accepted = true;
    announce("已同意服务须知");
    go(nextStep(me));
  }));
}

// ---------------------------------------------------------------- shared pieces

function certificateFacts(cert) {
  return facts([
    ["资格名称", text(cert.qualification)],
    ["级别", text(cert.level)],
    ["专业", text(cert.specialty)],
    ["姓名", text(cert.holder_name)],
    ["证件号码", text(cert.id_number_masked)],
    ["证书编号", text(cert.certificate_no)],
    ["批准日期", date(cert.approved_on)],
    ["签发日期", date(cert.issued_on)],
    ["发证机构", text(cert.issuer && cert.issuer.name)],
    ["证书状态", badge(cert.status_label, CERT_TONE[cert.status] || "muted")],
    ["证书类型", KIND_LABELS[cert.kind] || cert.kind],
  ]);
}

function issuerNote(cert) {
  const issuer = cert.issuer || {};
  return h("p", { class: "note" },
    "如证书信息有误，请联系证书发放机构：", text(issuer.name),
    issuer.contact ? ["（联系电话：", h("a", { href: `tel:${issuer.contact}` }, issuer.contact), "）"] : null, "。");
}

function scenarioName(code) {
  const found = (state.scenarios || []).find((s) => s.code === code);
  return found ? found.name : code;
}

async function loadScenarios() {
  if (!state.scenarios) state.scenarios = (await api("GET", "/scenarios", { auth: false })).items;
  return state.scenarios;
}

// A 证书电子文件 (DOMAIN rule 4): its verification code, 查看文件 / 下载文件 for a valid
// certificate, and its checks; the pieces a card or the certificate's view places.
function eFile(cert, errorEl, { logOpen = false } = {}) {
  const path = `/certificates/${cert.certificate_id}/file`;
  const status = h("p", { class: "file-status", role: "status", "aria-live": "polite" });
  const buttons = cert.status !== "valid" ? []
    : [["查看文件", "inline", "btn-primary"], ["下载文件", "attachment", "btn-secondary"]].map(([label, how, style]) => {
      const button = h("button", { type: "button", class: `btn ${style}` }, label);
      button.addEventListener("click", () => openFile(path, how, button, errorEl, status));
      return button;
    });
  const code = cert.file_verification_code;
  return {
    code: code ? ["验证码", h("span", { class: "verification-code" }, code)] : null,
    buttons,
    status,
    log: code ? verificationLog(`/certificates/${cert.certificate_id}/verifications`,
      { open: logOpen, what: "证书电子文件" }) : null,
  };
}

// ---------------------------------------------------------------- certificate list

async function showCertificates(seq) {
  const list = h("div", { class: "cert-list" }, h("p", { class: "loading" }, "正在加载证书…"));
  const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
  const node = h("section", { "aria-labelledby": "certs-title" },
    h("h1", { id: "certs-title", tabindex: "-1" }, "持证人查询下载"),
    h("p", { class: "lead" }, "以下是与您注册证件关联的证书。电子证书须先申请加注，方可在加注有效期内查看和下载；证书电子文件可直接查看和下载。"),
    errorEl, list);
  mount(node, "持证人查询下载");
  let certificates;
  try {
    await loadMe();
    certificates = (await api("GET", "/certificates")).items;
  } catch (error) {
    if (current(seq)) { replace(list); showError(errorEl, error); }
    return;
  }
  if (!current(seq)) return;
  if (!certificates.length) {
    replace(list, h("div", { class: "empty" },
      h("p", null, h("strong", null, "暂无证书")),
      h("p", null, "没有找到与您注册证件关联的证书。证书按证件类型和证件号码关联，请确认注册时填写的证件与取得证书时所用证件一致；证书信息有疑问的，请联系证书发放机构。")));
    return;
  }
  replace(list, certificates.map(certificateCard));
}

function latestSummary(cert) {
  if (cert.kind !== "e_certificate" || cert.status !== "valid") return null;
  const a = cert.latest_annotation;
  if (!a) return h("p", { class: "summary" }, "加注状态：未加注，下载前须先申请证书加注。");
  const detail = a.status === "ready" ? `，有效期至 ${dateTime(a.valid_until)}` : "";
  return h("p", { class: "summary" }, "加注状态：", badge(a.status_label, ANNOTATION_TONE[a.status] || "muted"), detail);
}

function certificateCard(cert) {
  const infoId = uid("cert-info");
  const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
  const info = h("div", { class: "cert-info", id: infoId, hidden: true }, certificateFacts(cert), issuerNote(cert));
  const infoButton = h("button", { type: "button", class: "btn btn-secondary", "aria-expanded": "false",
    "aria-controls": infoId }, "证书信息");
  infoButton.addEventListener("click", () => {
    const open = info.hidden;
    info.hidden = !open;
    infoButton.setAttribute("aria-expanded", String(open));
  });
  const actions = [infoButton];
  const valid = cert.status === "valid";
  const file = cert.kind === "e_file" ? eFile(cert, errorEl) : null;
  if (valid && cert.kind === "e_certificate") {
    actions.push(h("a", { class: "btn btn-primary", href: `#/certificates/${cert.certificate_id}` }, "下载"));
  } else if (file) {
    actions.push(...file.buttons);
  }
  const titleId = uid("cert-title");
  return h("article", { class: `card cert-card cert-${cert.status}`, "aria-labelledby": titleId,
    "data-certificate-no": cert.certificate_no },
  h("div", { class: "card-head" },
    h("h2", { id: titleId }, cert.qualification, cert.level ? h("span", { class: "level" }, ` ${cert.level}`) : null),
    h("div", { class: "badges" },
      badge(cert.status_label, CERT_TONE[cert.status] || "muted"),
      h("span", { class: "tag" }, KIND_LABELS[cert.kind] || cert.kind))),
  facts([["证书编号", cert.certificate_no], ["签发日期", date(cert.issued_on)], ["发证机构", text(cert.issuer && cert.issuer.name)],
    file && file.code]),
  latestSummary(cert),
  valid ? null : h("p", { class: "summary" }, `该证书${cert.status_label}，不能加注、查看或下载。`),
  h("div", { class: "actions" }, actions),
  file && file.status,
  errorEl,
  info,
  file && file.log);
}

// ---------------------------------------------------------------- one certificate: annotation and download

async function showCertificate(certificateId, seq) {
  const body = h("div", null, h("p", { class: "loading" }, "正在加载…"));
  const node = h("section", { "aria-labelledby": "cert-title" },
    h("p", null, h("a", { class: "back-link", href: "#/certificates" }, "返回证书列表")),
    h("p", { class: "eyebrow" }, "电子证书加注、下载"),
    h("h1", { id: "cert-title", tabindex: "-1" }, "证书"),
    body);
  mount(node, "电子证书加注、下载");
  const loaded = await loadView(body, seq, async () => {
    await loadMe();
    return Promise.all([
      api("GET", `/certificates/${certificateId}`),
      api("GET", `/certificates/${certificateId}/annotations`),
      loadScenarios(),
    ]);
  });
  if (loaded === undefined) return;
  const [cert, listing] = loaded;
  node.querySelector("h1").textContent = cert.qualification + (cert.level ? ` ${cert.level}` : "");
  document.title = `${cert.qualification} 加注、下载 · 专业技术人员职业资格证书查询验证系统`;
  new CertificatePage(cert, listing, body, seq).render();
}

class CertificatePage {
  constructor(cert, listing, root, seq) {
    this.cert = cert;
    this.listing = listing;
    this.root = root;
    this.seq = seq;
    this.polling = new Set();   // pending annotations being polled
    this.watching = new Set();  // annotations seen pending: their outcome gets announced
    this.quotaBox = h("div", { class: "quota" });
    this.historyBox = h("div", { class: "history" });
    this.applyButton = null;
    this.applyForm = null;
  }

  render() {
    const cert = this.cert;
    const infoSection = h("section", { class: "card", "aria-labelledby": "info-title" },
      h("h2", { id: "info-title" }, "证书信息"),
      h("p", { class: "hint" }, cert.kind === "e_file" ? "请核对以下证书信息。" : "申请加注前，请先核对以下证书信息。"),
      certificateFacts(cert),
      issuerNote(cert));

    let annotationSection;
    if (cert.kind === "e_file") {
      const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
      const file = eFile(cert, errorEl, { logOpen: true });
      annotationSection = h("section", { class: "card", "aria-labelledby": "file-title" },
        h("h2", { id: "file-title" }, "证书电子文件"),
        h("p", null, cert.status === "valid" ? "证书电子文件无需加注，可直接查看或下载；查验方可凭验证码、二维码或文件查验。"
          : `该证书${cert.status_label}，不能查看或下载。`),
        facts([file.code]),
        file.buttons.length ? h("div", { class: "actions" }, file.buttons) : null,
        file.status,
        errorEl,
        file.log);
    } else {
      annotationSection = h("section", { class: "card", "aria-labelledby": "annotate-title" },
        h("h2", { id: "annotate-title" }, "证书加注"),
        this.quotaBox,
        cert.status === "valid" ? this.applyArea() : h("p", { class: "summary" },
          `该证书${cert.status_label}，不能申请加注、查看或下载。`));
    }
    const historySection = cert.kind === "e_certificate"
      ? h("section", { class: "card", "aria-labelledby": "history-title" },
        h("h2", { id: "history-title" }, "加注记录"),
        h("p", { class: "hint" }, "最新的在前。加注件在有效期内可查看、下载，查验方可凭验证码或文件查验。"),
        this.historyBox)
      : null;
    replace(this.root, infoSection, annotationSection, historySection);
    if (cert.kind === "e_certificate") this.renderListing();
  }

  // ---- the application form

  applyArea() {
    const formId = uid("apply-form");
    const errorEl = h("p", { class: "form-message", role: "alert", hidden: true, tabindex: "-1" });
    const scenarioId = uid("scenario");
    const daysId = uid("validity-days");
    const daysHint = uid("validity-hint");
    const select = h("select", { id: scenarioId, name: "scenario", required: true },
      (state.scenarios || []).map((s) => h("option", { value: s.code }, s.name)));
    const days = h("input", { id: daysId, name: "validity_days", type: "number", min: "1", max: "90", step: "1",
      value: "90", inputmode: "numeric", required: true, "aria-describedby": daysHint });
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, "提交加注申请");
    const cancel = h("button", { type: "button", class: "btn btn-secondary" }, "取消");
    const form = h("form", { id: formId, class: "apply-form", hidden: true, novalidate: true },
      h("h3", null, "申请证书加注"),
      h("div", { class: "field" }, h("label", { for: scenarioId }, "使用场景"), select),
      h("div", { class: "field" },
        h("label", { for: daysId }, "加注有效期（天）"), days,
        h("p", { class: "hint", id: daysHint },
          "1 至 90 天，建议选择 90 天（上限）。有效期自加注件生成时起算，期满后须重新申请加注。")),
      h("div", { class: "actions" }, submit, cancel),
      errorEl);
    const open = h("button", { type: "button", class: "btn btn-primary", "aria-expanded": "false",
      "aria-controls": formId }, "申请证书加注");
    open.addEventListener("click", () => this.toggleForm(true));
    cancel.addEventListener("click", () => this.toggleForm(false));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(form, select, days, submit, errorEl);
    });
    this.applyButton = open;
    this.applyForm = form;
    return h("div", { class: "apply" }, h("div", { class: "actions" }, open), form);
  }

  toggleForm(show) {
    this.applyForm.hidden = !show;
    this.applyButton.setAttribute("aria-expanded", String(show));
    if (show) this.applyForm.querySelector("select").focus();
    else this.applyButton.focus();
  }

  async submit(form, select, days, submit, errorEl) {
    showMessage(errorEl, "");
    const value = Number(days.value);
    if (!days.value.trim() || !Number.isInteger(value) || value < 1 || value > 90) {
      showMessage(errorEl, "加注有效期须为 1 至 90 之间的整数天数");
      days.setAttribute("aria-invalid", "true");
      days.focus();
      return;
    }
    days.removeAttribute("aria-invalid");
    await busy(submit, async () => {
      let pending;
      try {
        pending = await api("POST", `/certificates/${this.cert.certificate_id}/annotations`, {
          json: { scenario: select.value, validity_days: value } });
      } catch (error) {
        showError(errorEl, error);
        if (error instanceof ApiError && error.code === "annotation_quota_exceeded") {
          const next = error.details.next_available_on;
          if (next && !error.message.includes(next)) errorEl.append(`（下次可申请日期：${next}）`);
          this.refresh(); // the meter and the next date, as they are now
        }
        errorEl.focus();
        return;
      }
      form.hidden = true;
      this.applyButton.setAttribute("aria-expanded", "false");
      announce("已提交加注申请，证书生成中…");
      // The server's 202 answer is shown at once (证书生成中…); the listing (with the
      // quota) follows, and polling takes it from there.
      this.listing = { ...this.listing, items: [pending, ...this.listing.items] };
      this.renderListing(pending.annotation_id);
      await this.refresh();
    });
  }

  // ---- quota and the list of annotations

  async refresh(focusId) {
    try {
      this.listing = await api("GET", `/certificates/${this.cert.certificate_id}/annotations`);
    } catch (error) {
      return;
    }
    if (!current(this.seq)) return;
    this.renderListing(focusId);
  }

  renderListing(focusId) {
    const { items, quota } = this.listing;
    const latest = items[0];
    const full = quota.used >= quota.limit;
    replace(this.quotaBox,
      h("p", { class: "state-line" }, "当前加注状态：",
        latest ? badge(latest.status_label, ANNOTATION_TONE[latest.status] || "muted")
          : h("span", null, "未加注（须先申请证书加注，方可查看和下载）")),
      h("div", { class: "meter-row" },
        h("label", { for: "quota-meter" }, `${quota.window_days} 日内加注次数`),
        h("meter", { id: "quota-meter", min: "0", max: String(quota.limit), value: String(quota.used),
          low: String(quota.limit - 1), high: String(quota.limit), optimum: "0" }),
        h("span", { class: "meter-text" }, `已用 ${quota.used}/${quota.limit}`)),
      full && quota.next_available_on
        ? h("p", { class: "note" }, `本证书 ${quota.window_days} 日内的加注次数已用完，下次可申请日期：${quota.next_available_on}。`)
        : null);
    if (!items.length) {
      replace(this.historyBox, h("p", { class: "empty" }, "尚未申请加注。电子证书须先加注，方可在加注有效期内查看和下载。"));
      return;
    }
    const list = h("ol", { class: "annotation-list" }, items.map((a) => this.annotationItem(a)));
    const active = document.activeElement;
    const focusWasInside = this.historyBox.contains(active);
    const focusedItem = focusWasInside ? active.closest("li[data-annotation-id]") : null;
    replace(this.historyBox, list);
    for (const a of items) {
      if (a.status === "pending") {
        this.watching.add(a.annotation_id);
        this.poll(a.annotation_id);
      } else {
        this.polling.delete(a.annotation_id);
        if (this.watching.delete(a.annotation_id)) {
          if (a.status === "ready") announce("加注件已生成，可以查看或下载");
          else if (a.status === "failed") announce("加注件生成失败，请重新申请加注");
        }
      }
    }
    const id = focusId || (focusedItem && focusedItem.dataset.annotationId);
    const target = id && list.querySelector(`[data-annotation-id="${id}"]`);
    // Focus follows the change only if it was in the list or got lost (the form it was in closed).
    if (target && (focusWasInside || !document.activeElement || document.activeElement === document.body)) {
      target.focus();
    }
  }

  annotationItem(a) {
    const tone = ANNOTATION_TONE[a.status] || "muted";
    const errorEl = h("p", { class: "form-message", role: "alert", hidden: true });
    const titleId = uid("annotation-title");
    const item = h("li", { class: `card annotation annotation-${a.status}`, tabindex: "-1",
      "data-annotation-id": a.annotation_id, "aria-labelledby": titleId });
    const heading = h("div", { class: "card-head" },
      h("h3", { id: titleId }, a.annotation_no ? `加注编号 ${a.annotation_no}` : `加注申请 ${dateTime(a.applied_at)}`),
      h("div", { class: "badges" }, badge(a.status_label, tone)));
    const rows = [
      ["使用场景", scenarioName(a.scenario)],
      ["加注有效期", `${a.validity_days} 天`],
      ["申请时间", dateTime(a.applied_at)],
      a.valid_from ? ["有效期", validity(a.valid_from, a.valid_until)] : null,
      a.verification_code ? ["验证码", h("span", { class: "verification-code" }, a.verification_code)] : null,
    ];
    const parts = [heading, facts(rows)];
    if (a.status === "pending") {
      parts.push(h("p", { class: "pending-note" }, h("span", { class: "spinner", "aria-hidden": "true" }),
        "证书生成中…完成后本页自动更新，无需刷新。"));
    } else if (a.status === "ready") {
      parts.push(this.readyActions(a, errorEl));
    } else if (a.status === "expired") {
      parts.push(h("p", { class: "summary" }, "加注件已过期，不能再查看、下载或通过查验。如需使用，请重新申请加注。"));
      if (this.cert.status === "valid" && this.applyButton) {
        const again = h("button", { type: "button", class: "btn btn-secondary" }, "重新申请加注");
        again.addEventListener("click", () => this.toggleForm(true));
        parts.push(h("div", { class: "actions" }, again));
      }
    } else if (a.status === "withdrawn") {
      parts.push(h("p", { class: "summary" }, "该加注件已撤回，不能再查看、下载或通过查验。"));
    } else if (a.status === "failed") {
      parts.push(h("p", { class: "summary" }, "加注件生成失败，此次申请不计入加注次数，请重新申请加注。"));
    }
    parts.push(errorEl);
    if (a.verification_code) {
      parts.push(verificationLog(`/annotations/${a.annotation_id}/verifications`,
        { open: a.status === "ready", what: "加注件" }));
    }
    return replace(item, parts);
  }

  readyActions(a, errorEl) {
    const path = `/annotations/${a.annotation_id}/file`;
    const viewButton = h("button", { type: "button", class: "btn btn-primary" }, "查看");
    const saveButton = h("button", { type: "button", class: "btn btn-secondary" }, "下载");
    const withdrawButton = h("button", { type: "button", class: "btn btn-danger-outline" }, "撤回");
    const afterFileError = () => {
      // A copy that expired or was withdrawn meanwhile: show its new state, keep the message.
      if (!errorEl.hidden) {
        const message = errorEl.textContent;
        this.refresh().then(() => {
          const fresh = this.historyBox.querySelector(`[data-annotation-id="${a.annotation_id}"] .form-message`);
          if (fresh && current(this.seq)) showMessage(fresh, message);
        });
      }
    };
    viewButton.addEventListener("click", () => openFile(path, "inline", viewButton, errorEl).then(afterFileError));
    saveButton.addEventListener("click", () => openFile(path, "attachment", saveButton, errorEl).then(afterFileError));

    const confirmId = uid("withdraw-confirm");
    const yes = h("button", { type: "button", class: "btn btn-danger" }, "确认撤回");
    const no = h("button", { type: "button", class: "btn btn-secondary" }, "取消");
    const confirmBox = h("div", { class: "confirm", id: confirmId, role: "group", "aria-label": "确认撤回加注件",
      hidden: true },
    h("p", null, "撤回后，此加注件立即不能查看、下载，也不能再通过查验；撤回的加注仍计入 90 日内的加注次数。确定撤回吗？"),
    h("div", { class: "actions" }, yes, no));
    withdrawButton.setAttribute("aria-expanded", "false");
    withdrawButton.setAttribute("aria-controls", confirmId);
    withdrawButton.addEventListener("click", () => {
      confirmBox.hidden = false;
      withdrawButton.setAttribute("aria-expanded", "true");
      yes.focus();
    });
    no.addEventListener("click", () => {
      confirmBox.hidden = true;
      withdrawButton.setAttribute("aria-expanded", "false");
      withdrawButton.focus();
    });
    yes.addEventListener("click", () => busy(yes, async () => {
      showMessage(errorEl, "");
      try {
        await api("POST", `/annotations/${a.annotation_id}/withdraw`);
      } catch (error) {
        showError(errorEl, error);
        return;
      }
      announce("加注件已撤回");
      await this.refresh(a.annotation_id);
    }));
    return h("div", null, h("div", { class: "actions" }, viewButton, saveButton, withdrawButton), confirmBox);
  }

  // ---- waiting for 证书生成中… to end, without a reload

  poll(annotationId) {
    if (this.polling.has(annotationId)) return;
    this.polling.add(annotationId);
    let delay = 300;
    const tick = async () => {
      if (!current(this.seq) || !this.polling.has(annotationId)) return;
      let a;
      try {
        a = await api("GET", `/annotations/${annotationId}`);
      } catch (error) {
        if (error instanceof ApiError && error.handled) return;
        delay = Math.min(delay * 2, 10000);
        schedule();
        return;
      }
      if (!current(this.seq) || !this.polling.has(annotationId)) return;
      if (a.status === "pending") {
        delay = Math.min(Math.round(delay * 1.5), 5000);
        schedule();
        return;
      }
      this.polling.delete(annotationId);
      await this.refresh(); // renders the copy and announces the outcome
    };
    const schedule = () => later(tick, delay);
    schedule();
  }
}

// ---------------------------------------------------------------- start

startRouter(route);
