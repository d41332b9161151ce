// Small DOM helpers every screen uses: elements, chips, tables, pagers,
// forms whose 422 shows each field's reason beside the field, notices.
import { ApiError, NetworkError } from "./api.js";
import { locale, reason, t, word } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "value") node.value = value;
    else if (name === "checked" || name === "selected" || name === "disabled") node[name] = Boolean(value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// --- status at a glance ------------------------------------------------------

const TONES = {
  ok: ["cleared", "issued", "registered", "matched", "not_required", "closed", "resolved", "accepted",
       "confirmed", "satisfied", "basically_satisfied", "yes", "handed_over", "active", "covered"],
  wait: ["awaiting", "pending", "held", "dispatched", "open", "filed", "reported", "in_progress", "assigned",
         "watching"],
  bad: ["flagged", "refused", "allocated_to_other", "unknown_flat", "not_handed_over", "returned",
        "overdue", "escalated", "unsatisfied", "rework", "mismatch", "urgent", "unregistered", "late",
        "group_rental"],
};

export function tone(value) {
  for (const [name, values] of Object.entries(TONES)) if (values.includes(value)) return name;
  return "neutral";
}

// A chip: `value` is what the API said, shown in the catalogue's words.
export function chip(value, options = {}) {
  const group = options.group || "status";
  const text = options.label ? options.label + " · " + word(group, value) : word(group, value);
  return h("span", {
    class: "chip chip-" + (options.tone || tone(value)) + (options.big ? " chip-big" : ""),
    "data-status": value, "data-party": options.party, title: options.title,
  }, text);
}

export function partyChip(party, status, overdue) {
  return h("span", { class: "party-chip" },
    chip(status, { label: word("party_short", party), party, tone: overdue ? "bad" : undefined,
                   title: word("party", party) + (overdue ? " · " + t("common.overdue") : "") }));
}

export function yesNo(value) {
  return value ? t("common.yes") : t("common.no");
}

// --- dates ----------------------------------------------------------------------

export function fmtTime(iso, seconds = false) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: seconds ? "2-digit" : undefined, hour12: false,
  }).format(date);
}

export function fmtDate(iso) {
  if (!iso) return "";
  const date = new Date(iso.length === 10 ? iso + "T00:00:00" : iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
}

export function flat(address) {
  if (!address) return "";
  return [address.building, address.unit, address.room].filter(Boolean).join("-");
}

export function place(location) {
  if (!location) return "";
  const where = flat(location);
  return location.spot ? (where ? where + " · " + location.spot : location.spot) : where;
}

export function percent(rate) {
  return rate === null || rate === undefined ? "—" : (rate * 100).toFixed(1) + "%";
}

// --- layout ---------------------------------------------------------------------

export function screen(title, actions, ...body) {
  return h("section", { class: "screen" },
    h("header", { class: "screen-head" }, h("h1", {}, title), h("div", { class: "screen-actions" }, actions)),
    body);
}

export function panel(title, ...body) {
  return h("section", { class: "panel" }, title ? h("h2", {}, title) : null, body);
}

export function button(label, onclick, options = {}) {
  return h("button", {
    type: options.type || "button", class: "btn " + (options.kind ? "btn-" + options.kind : ""),
    onclick, "data-action": options.action, disabled: options.disabled, title: options.title,
  }, label);
}

export function facts(rows) {
  return h("dl", { class: "facts" }, rows.filter(Boolean).map(([label, value]) => [
    h("dt", {}, label), h("dd", {}, value === "" || value === null || value === undefined ? "—" : value)]));
}

// columns: [{label, cell(item) -> node|string, class?}]
export function table(columns, items, options = {}) {
  const head = h("tr", {}, columns.map((column) => h("th", { class: column.class }, column.label)));
  const rows = items.length ? items.map((item) => {
    const row = h("tr", { "data-id": item.id, class: options.onRow ? "clickable" : null },
      columns.map((column) => h("td", { class: column.class }, column.cell(item))));
    if (options.onRow) {
      row.addEventListener("click", (event) => {
        if (!event.target.closest("button, a, input, select, textarea, form")) options.onRow(item);
      });
    }
    return options.after ? [row, options.after(item, columns.length)] : row;
  }) : h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, t("common.empty")));
  return h("div", { class: "table-wrap" },
    h("table", { class: "list" + (options.class ? " " + options.class : "") }, h("thead", {}, head), h("tbody", {}, rows)));
}

// How many a list holds, as the API counted: "10,000+" when it stopped
// counting (`total_capped`).
export function fmtTotal(pageInfo) {
  const number = new Intl.NumberFormat(locale()).format(pageInfo.total);
  return pageInfo.total_capped ? t("pager.capped", { total: number }) : number;
}

// The pager of every list: `start` (how many items the pages before this
// one held), the page the API answered ({items, total, total_capped,
// next}), and where the two buttons go (null: nowhere, so disabled).
export function pager(start, pageInfo, previous, next) {
  const count = pageInfo.items.length;
  const first = count ? start + 1 : 0;
  const last = count ? start + count : 0;
  const number = (n) => new Intl.NumberFormat(locale()).format(n);
  return h("nav", { class: "pager", "aria-label": t("pager.label") },
    button(t("pager.previous"), previous, { action: "previous-page", disabled: !previous }),
    h("span", { class: "pager-info" },
      t("pager.range", { first: number(first), last: number(last), total: fmtTotal(pageInfo) })),
    button(t("pager.next"), next, { action: "next-page", disabled: !next }));
}

// --- forms --------------------------------------------------------------------------

// One labelled control whose 422 reason shows right under it. `name` is the
// API's field path (`address.room`), so the server's errors find it.
export function field(name, label, control, hint) {
  if (!control.id) control.id = "f-" + name.replace(/[^\w-]/g, "-") + "-" + Math.random().toString(36).slice(2, 7);
  if (!control.name && control.tagName !== "DIV") control.name = name;
  return h("div", { class: "field", "data-field": name },
    h("label", { for: control.id }, label),
    control,
    hint ? h("p", { class: "hint" }, hint) : null,
    h("p", { class: "field-error", "data-error-for": name, role: "alert" }));
}

export function input(attrs = {}) {
  return h("input", { type: "text", autocomplete: "off", ...attrs });
}

export function textarea(attrs = {}) {
  return h("textarea", { rows: 3, ...attrs });
}

// options: [[value, label], ...]
export function select(options, attrs = {}) {
  const current = attrs.value;
  const rest = { ...attrs };
  delete rest.value;
  return h("select", rest, options.map(([value, label]) =>
    h("option", { value, selected: String(value) === String(current ?? "") }, label)));
}

export function checkbox(attrs = {}) {
  return h("input", { type: "checkbox", ...attrs });
}

// The form's values as the API wants them: dotted names nest, blank
// fields are left out (the server says which are required), `data-type`
// turns text into a boolean, a number or a list (one item a line).
export function formValues(form) {
  const out = {};
  for (const control of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (control.disabled || control.type === "file") continue;
    let value;
    const type = control.dataset.type;
    if (control.type === "checkbox" && control.dataset.only !== undefined) {
      if (!control.checked) continue;
      value = "true";
    } else if (control.type === "checkbox" && control.dataset.multi !== undefined) {
      if (!control.checked) continue;
      value = control.value;
    } else if (control.type === "checkbox") value = control.checked;
    else if (control.type === "radio") {
      if (!control.checked) continue;
      value = control.value;
    } else value = control.value;
    if (typeof value === "string") {
      if (value.trim() === "" && type !== "keep") continue;
      if (type === "bool") value = value === "true" ? true : value === "false" ? false : value;
      else if (type === "int" && /^-?\d+$/.test(value.trim())) value = Number(value.trim());
      else if (type === "lines") value = value.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
    }
    const path = control.name.split(".");
    let node = out;
    path.slice(0, -1).forEach((part) => { node = node[part] = node[part] || {}; });
    const leaf = path[path.length - 1];
    if (control.dataset.multi !== undefined) (node[leaf] = node[leaf] || []).push(value);
    else node[leaf] = value;
  }
  return out;
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((slot) => { slot.textContent = ""; });
  form.querySelectorAll(".field.invalid").forEach((node) => node.classList.remove("invalid"));
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  const summary = form.querySelector(".form-errors");
  if (summary) summary.replaceChildren();
}

// Each error beside its field: the field named, or the nearest field whose
// name it starts with (`household.2` beside `household`); the rest above
// the form's buttons, with the field's name.
export function showErrors(form, errors) {
  clearErrors(form);
  const summary = form.querySelector(".form-errors");
  for (const error of errors) {
    let name = String(error.field || "");
    let slot = null;
    while (name && !slot) {
      slot = form.querySelector('.field-error[data-error-for="' + CSS.escape(name) + '"]');
      if (!slot) name = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "";
    }
    const text = reason(String(error.reason || ""));
    if (slot) {
      const prefix = name !== error.field ? error.field + ": " : "";
      const line = h("span", { class: "reason", title: error.reason }, prefix + text);
      if (slot.childNodes.length) slot.append(h("br"));
      slot.append(line);
      const box = slot.closest(".field");
      box.classList.add("invalid");
      box.querySelectorAll("input, select, textarea").forEach((node) => node.setAttribute("aria-invalid", "true"));
    } else if (summary) {
      summary.append(h("li", { "data-error-for": error.field }, h("code", {}, error.field), " ", text));
    }
  }
  const firstBad = form.querySelector(".field.invalid input, .field.invalid select, .field.invalid textarea");
  if (firstBad) firstBad.focus();
}

export function form(name, fields, actions, onsubmit) {
  const node = h("form", { class: "form", "data-form": name, novalidate: true },
    fields, h("ul", { class: "form-errors", role: "alert" }), h("div", { class: "form-actions" }, actions));
  node.addEventListener("submit", (event) => {
    event.preventDefault();
    onsubmit(node, event.submitter);
  });
  return node;
}

// --- notices -----------------------------------------------------------------------

export function notify(text, kind = "ok", detail = "") {
  const region = document.getElementById("notice");
  if (!region) return;
  region.replaceChildren(
    h("div", { class: "notice notice-" + kind, "data-kind": kind },
      h("span", { class: "notice-text" }, text),
      detail ? h("span", { class: "notice-detail" }, detail) : null,
      h("button", { type: "button", class: "notice-close", "aria-label": t("common.close"),
                    onclick: () => region.replaceChildren() }, "×")));
}

// What a failed request tells the clerk, in the catalogue's words plus the
// server's own detail.
export function notifyError(error) {
  if (error instanceof NetworkError) return notify(t("error.network"), "error");
  if (!(error instanceof ApiError)) {
    console.error(error);
    return notify(t("error.unexpected"), "error", String(error.message || error));
  }
  if (error.status === 401) return; // the sign-in screen says it
  const key = { 403: "error.forbidden", 404: "error.not_found", 409: "error.conflict",
                413: "error.too_large", 422: "error.invalid", 429: "error.locked" }[error.status];
  notify(key ? t(key) : t("error.status", { status: error.status }), "error", error.problem.detail || "");
}

// Submit a form: its button busy meanwhile, a 422 shown beside the fields,
// any other failure as a notice; `done` gets the answer.
export async function submit(formNode, request, done) {
  const buttons = formNode.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  clearErrors(formNode);
  try {
    const answer = await request();
    await done(answer);
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      showErrors(formNode, error.errors);
      notify(t("error.invalid"), "error", t("error.fields", { count: error.errors.length }));
    } else {
      notifyError(error);
    }
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}
