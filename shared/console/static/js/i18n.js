// The console's words: one message catalogue per language (../i18n/*.js),
// Chinese by default, English on request (kept in localStorage).
import zh from "../i18n/zh.js";
import en from "../i18n/en.js";

const CATALOGUES = { zh, en };
const STORAGE_KEY = "linkage.console.lang";
let current = CATALOGUES[localStorage.getItem(STORAGE_KEY)] ? localStorage.getItem(STORAGE_KEY) : "zh";
const listeners = [];

export function lang() {
  return current;
}

export function locale() {
  return CATALOGUES[current].meta.locale;
}

export function setLang(code) {
  if (!CATALOGUES[code] || code === current) return;
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  document.documentElement.lang = locale();
  listeners.forEach((listener) => listener(code));
}

export function onLang(listener) {
  listeners.push(listener);
}

export function languages() {
  return Object.keys(CATALOGUES);
}

function lookup(catalogue, key) {
  return key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), catalogue);
}

// t("case.accepted", {id}) -> the current language's text with {id} filled in.
export function t(key, vars = {}) {
  let text = lookup(CATALOGUES[current], key);
  if (typeof text !== "string") {
    console.warn("console: no message", key, "in", current);
    text = key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// The word for a value the API sends (a status, a party, a category):
// from the catalogue's `group`, or the value itself when it has none.
export function word(group, value) {
  if (value === null || value === undefined || value === "") return "";
  const text = lookup(CATALOGUES[current], group + "." + value);
  return typeof text === "string" ? text : String(value);
}

// The server's reason for a bad field, in the current language when the
// catalogue knows it (the server's own words otherwise).
export function reason(text) {
  const reasons = CATALOGUES[current].reasons || {};
  if (reasons.exact && reasons.exact[text]) return reasons.exact[text];
  for (const [pattern, replacement] of reasons.patterns || []) {
    const re = new RegExp(pattern);
    if (re.test(text)) return text.replace(re, replacement);
  }
  return text;
}

// Every key of a catalogue, dotted: the browser tests compare the languages.
export function keys(code) {
  const out = [];
  const walk = (node, prefix) => {
    for (const [name, value] of Object.entries(node)) {
      const key = prefix ? prefix + "." + name : name;
      if (value && typeof value === "object" && !Array.isArray(value) && name !== "reasons") walk(value, key);
      else out.push(key);
    }
  };
  walk(CATALOGUES[code], "");
  return out.sort();
}

document.documentElement.lang = locale();

// A group of the catalogue as [value, words] pairs, in the catalogue's
// order: the lists a form offers (case categories, sources).
export function entries(group) {
  const node = lookup(CATALOGUES[current], group);
  return node && typeof node === "object" ? Object.entries(node) : [];
}
