// Building the page from data without innerHTML: every value lands as text, so nothing the
// API returns can become markup. No style attributes either (the CSP forbids inline styles).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function cloneTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

// A polite live region: clearing it first makes a repeated message be read again.
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

export function showMessage(el, text) {
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
}

// Marks a button busy while its request runs. The button stays enabled (a disabled
// button drops keyboard focus); a second press is ignored instead.
export async function busy(button, work) {
  if (button.getAttribute("aria-busy") === "true") return undefined;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-busy");
  }
}

let idCounter = 0;
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A value that must never break across lines (an ID number, a code, a date): see .token in app.css.
export function token(value) {
  return h("span", { class: "token" }, value);
}

export function badge(label, tone) {
  return h("span", { class: `badge badge-${tone}` }, label);
}

// A definition list of [term, value] pairs; a falsy pair is left out.
export function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => h("div", { class: "fact" }, h("dt", null, term), h("dd", null, value))));
}

// A labelled input (or select) with its hint and its error slot `#<id>-error`, where forms show
// a message about it; `addon` sits on the input's line (a button).
export function field(label, input, hintText, addon) {
  const id = uid(input.name.replace(/_/g, "-"));
  const hintId = hintText ? `${id}-hint` : null;
  input.id = id;
  input.setAttribute("aria-describedby", [hintId, `${id}-error`].filter(Boolean).join(" "));
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    addon ? h("div", { class: "input-row" }, input, addon) : input,
    hintText ? h("p", { class: "hint", id: hintId }, hintText) : null,
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}
