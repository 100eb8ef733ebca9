// The page's two languages, Chinese (the default) and English: t(key, {name}) gives the text
// of the chosen language (strings-zh.js / strings-en.js: what both pages use, plus the page's
// own that its script adds with addTexts()), the choice is remembered in localStorage and first
// taken from the browser's languages. Static markup names its text with data-i18n="key" (and
// data-i18n-attr="attribute:key;…"), filled in by applyStatic().

import en from "./strings-en.js";
import zh from "./strings-zh.js";

export const LANGUAGES = { zh: { ...zh }, en: { ...en } };

// A page's own texts ({zh, en}: strings-holder-*.js, strings-verify-*.js), so that a page never
// loads the other's; added before the page draws anything.
export function addTexts(texts) {
  for (const code of Object.keys(LANGUAGES)) Object.assign(LANGUAGES[code], texts[code]);
}
const LANG_KEY = "certificates.lang";
const HTML_LANG = { zh: "zh-CN", en: "en" };

function initial() {
  try {
    const stored = window.localStorage.getItem(LANG_KEY);
    if (stored && LANGUAGES[stored]) return stored;
  } catch { /* storage refused: go by the browser */ }
  for (const tag of navigator.languages || [navigator.language || ""]) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh";
    if (lower.startsWith("en")) return "en";
  }
  return "zh";
}

let lang = initial();
const listeners = new Set();

export function currentLang() { return lang; }
export function isEnglish() { return lang === "en"; }

export function t(key, params) {
  let text = LANGUAGES[lang][key];
  if (text === undefined) text = LANGUAGES.zh[key];
  if (text === undefined) return key;
  if (params) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  return text;
}

export function onLangChange(fn) { listeners.add(fn); }

export function setLang(next) {
  if (!LANGUAGES[next] || next === lang) return;
  lang = next;
  try { window.localStorage.setItem(LANG_KEY, next); } catch { /* this page only */ }
  applyStatic();
  for (const fn of listeners) fn(next);
}

// Another tab chose the other language: follow it.
window.addEventListener("storage", (event) => {
  if (event.key === LANG_KEY && event.newValue && LANGUAGES[event.newValue] && event.newValue !== lang) {
    lang = event.newValue;
    applyStatic();
    for (const fn of listeners) fn(lang);
  }
});

export function applyStatic(root = document) {
  document.documentElement.lang = HTML_LANG[lang];
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  for (const button of document.querySelectorAll(".lang-switch button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
  }
}

// The 中文 / English switch: two toggle buttons, each named in its own language.
export function mountSwitch(container) {
  const group = document.createElement("div");
  group.className = "lang-switch";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", t("lang.switch"));
  for (const code of Object.keys(LANGUAGES)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-header";
    button.dataset.lang = code;
    button.lang = HTML_LANG[code];
    button.textContent = LANGUAGES[code]["lang.name"];
    button.setAttribute("aria-pressed", String(code === lang));
    button.addEventListener("click", () => setLang(code));
    group.append(button);
  }
  container.replaceChildren(group);
}
