// A person's rights at the committee (PIPL Arts. 44-47), a supervisor's
// decisions: a person's export (a form, then the export as each party
// answers it), and on a returnee's linkage the correction of a name or a
// phone and the erasure, with their history and each party's answer.
import * as api from "./api.js";
import { t, word } from "./i18n.js";
import { refreshButton } from "./cases.js";
import {
  button, chip, facts, field, fmtTime, form, formValues, h, input, notify, panel, screen, submit, table, textarea,
} from "./ui.js";

const COMMITTEE = "neighborhood_committee";
const ANSWER_TONES = { answered: "ok", waiting: "wait", complete: "ok", erased: "ok", held: "wait", pending: "wait" };
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;

function exportPath(id) {
  return "/people/exports/" + encodeURIComponent(id);
}

function linkageLink(id) {
  return h("a", { href: "#/linkages/" + encodeURIComponent(id), class: "mono" }, id);
}

// --- a person's export: the request ---------------------------------------------------------------

function exportRequest(ctx) {
  const node = form("person-export", [
    h("div", { class: "grid" },
      field("id_number", t("person.id_number"), input({ class: "mono", maxlength: 18 }), t("person.id_number_hint")),
      field("phone", t("person.phone"), input({ class: "mono", maxlength: 11 }), t("rights.export_phone_hint"))),
    field("reason", t("rights.export_reason"), textarea({ rows: 2 }), t("rights.export_reason_hint")),
  ], [button(t("rights.export_submit"), null, { type: "submit", kind: "primary", action: "request-export" })],
  (formNode) => submit(formNode, () => api.call("POST", "/api/v1/people/exports", { json: formValues(formNode) }),
    (answer) => {
      notify(t("rights.export_requested", { id: answer.data.id_masked }));
      ctx.go(exportPath(answer.data.id));
    }));
  return screen(t("nav.person_export"), [], h("p", { class: "lead" }, t("rights.export_lead")),
    h("p", { class: "muted" }, t("rights.audited")), node);
}

// --- a person's export: as the parties answer -----------------------------------------------------------

// A record's data as rows of (dotted key, value): nested objects flattened,
// lists of plain values joined, times in the console's format.
function dataRows(data, prefix = "") {
  const rows = [];
  for (const [key, value] of Object.entries(data || {})) {
    const name = prefix ? prefix + "." + key : key;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const inner = dataRows(value, name);
      rows.push(...(inner.length ? inner : [[name, ""]]));
    } else if (Array.isArray(value) && value.some((item) => item && typeof item === "object")) {
      value.forEach((item, i) => rows.push(...(item && typeof item === "object"
        ? dataRows(item, name + "." + i) : [[name + "." + i, item]])));
      if (!value.length) rows.push([name, ""]);
    } else {
      rows.push([name, value]);
    }
  }
  return rows;
}

function plain(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  if (Array.isArray(value)) return value.length ? value.join(t("common.list_separator")) : "—";
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return fmtTime(value, true);
  return String(value);
}

function dataTable(data) {
  const rows = dataRows(data);
  return h("table", { class: "kv" }, h("tbody", {}, rows.length ? rows.map(([key, value]) => {
    const label = word("data_field", key);
    return h("tr", { "data-key": key },
      h("th", { scope: "row" }, label, label !== key ? h("small", { class: "mono kv-key" }, key) : null),
      h("td", {}, plain(value)));
  }) : h("tr", {}, h("td", { class: "empty" }, t("common.empty")))));
}

function keptUntil(record) {
  if (record.deidentified_at) return h("span", { class: "deidentified" }, t("rights.deidentified_on", { at: fmtTime(record.deidentified_at) }));
  if (record.identity_kept_until) return fmtTime(record.identity_kept_until);
  return t("rights.kept_while_open");
}

function recordBlock(record) {
  return h("article", { class: "export-record", "data-record": record.record, "data-id": record.id },
    h("h3", {}, word("record", record.record), " ", h("small", { class: "mono" }, record.id)),
    facts([
      [t("rights.purpose"), record.purpose],
      [t("rights.since"), fmtTime(record.since)],
      record.finished_at ? [t("rights.finished_at"), fmtTime(record.finished_at)] : null,
      [t("rights.identity_kept_until"), keptUntil(record)],
    ]),
    h("h4", {}, t("rights.data")),
    dataTable(record.data));
}

function readsTable(reads) {
  return table([
    { label: t("rights.read_at"), cell: (r) => fmtTime(r.at, true) },
    { label: t("rights.read_user"), cell: (r) => r.user || "" },
    { label: t("common.party"), cell: (r) => word("party_short", r.agency) },
    { label: t("rights.read_via"), cell: (r) => h("span", { class: "mono" }, r.via || "") },
    { label: t("rights.purpose"), class: "wide", cell: (r) => r.purpose || "" },
    { label: t("rights.returnee"), cell: (r) => (r.returnee_id ? h("span", { class: "mono" }, r.returnee_id) : "") },
  ], reads, { class: "reads" });
}

function partPanel(part) {
  const answered = part.status === "answered";
  return h("section", { class: "panel export-party", "data-party": part.party, "data-status": part.status },
    h("header", { class: "export-party-head" },
      h("h2", {}, word("party", part.party)),
      chip(part.status, { group: "answer_status", tone: ANSWER_TONES[part.status], party: part.party }),
      answered && part.answered_at ? h("span", { class: "muted" }, t("rights.answered_at", { at: fmtTime(part.answered_at, true) })) : null),
    part.legal_hold ? h("p", { class: "legal-hold", "data-hold": "yes" }, h("strong", {}, t("rights.legal_hold")), " ", part.legal_hold) : null,
    answered ? [
      h("h3", { class: "export-section" }, t("rights.records", { count: part.records.length })),
      part.records.length ? part.records.map(recordBlock) : h("p", { class: "muted" }, t("rights.no_records")),
      h("h3", { class: "export-section" }, t("rights.reads", { count: part.reads.length })),
      readsTable(part.reads),
    ] : h("p", { class: "muted" }, t("rights.not_answered")));
}

function exportBody(x) {
  const answered = x.parties.filter((part) => part.status === "answered").length;
  return [
    panel(t("rights.export_request"), facts([
      [t("person.id_masked"), h("span", { class: "mono" }, x.id_masked)],
      [t("rights.export_reason"), x.reason],
      [t("rights.requested"), fmtTime(x.requested_at, true) + (x.requested_by ? " · " + x.requested_by : "")],
      [t("rights.completed_at"), fmtTime(x.completed_at, true)],
      [t("rights.answered"), t("rights.answered_count", { answered, total: x.parties.length })],
      [t("rights.returnees"), x.returnee_ids.length ? h("span", { class: "id-list" }, x.returnee_ids.map((id) => [linkageLink(id), " "]))
        : t("rights.no_registration")],
      x.case_ids && x.case_ids.length ? [t("rights.cases_reported"), h("span", { class: "id-list mono" },
        x.case_ids.map((id) => [id, " "]))] : null,
      x.deidentified_at ? [t("rights.copy_removed"), fmtTime(x.deidentified_at)] : null,
    ])),
    x.parties.map(partPanel),
  ];
}

async function personExport(ctx) {
  let x = await api.get("/api/v1/people/exports/" + encodeURIComponent(ctx.params.id));
  const status = h("span", { class: "export-status" });
  const body = h("div", { class: "export", "data-status": x.status });
  const show = () => {
    status.replaceChildren(chip(x.status, { group: "export_status", tone: ANSWER_TONES[x.status], big: true }));
    body.dataset.status = x.status;
    body.replaceChildren(...exportBody(x).flat());
  };
  show();
  // Until every party has answered, ask again, less often as it goes on;
  // not once this screen has gone.
  let wait = POLL_FIRST_MS;
  const poll = async () => {
    if (!ctx.isCurrent()) return;
    try {
      const latest = await api.get("/api/v1/people/exports/" + encodeURIComponent(ctx.params.id));
      if (!ctx.isCurrent()) return;
      x = latest;
      show();
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) return;
    }
    if (x.status !== "complete") {
      wait = Math.min(wait * 1.5, POLL_MAX_MS);
      setTimeout(poll, wait);
    }
  };
  if (x.status !== "complete") setTimeout(poll, wait);
  return screen(t("rights.export_title"), [
    status,
    button(t("rights.print"), () => window.print(), { action: "print", kind: "ghost" }),
    refreshButton(ctx)],
  h("p", { class: "muted" }, t("rights.audited")),
  body);
}

// --- on a returnee's linkage: correction -------------------------------------------------------------

function correctionForm(ctx, l, slot) {
  const node = form("correction", [
    h("div", { class: "grid" },
      field("name", t("person.name"), input({ placeholder: l.name || "" }), t("rights.correct_blank_hint")),
      field("phone", t("person.phone"), input({ inputmode: "tel", placeholder: l.phone || "" }))),
    field("reason", t("rights.correct_reason"), textarea({ rows: 2 })),
  ], [
    button(t("rights.correct_submit"), null, { type: "submit", kind: "primary", action: "confirm-correct" }),
    button(t("common.cancel"), () => slot.replaceChildren(), { action: "cancel" }),
  ], (formNode) => submit(formNode,
    () => api.post("/api/v1/returnees/" + encodeURIComponent(l.id) + "/correction", formValues(formNode)),
    (answer) => {
      notify(t("rights.corrected", { fields: answer.fields.map((name) => word("correctable", name)).join(t("common.list_separator")) }),
        "ok", answer.notified.length
          ? t("rights.notified", { parties: answer.notified.map((p) => word("party_short", p)).join(t("common.list_separator")) })
          : t("rights.notified_none"));
      ctx.refresh();
    }));
  node.classList.add("inline");
  slot.replaceChildren(node);
  node.querySelector("input").focus();
}

export function correctionsPanel(l) {
  return panel(t("rights.corrections"), table([
    { label: t("rights.corrected_at"), cell: (c) => fmtTime(c.at, true) },
    { label: t("rights.by"), cell: (c) => c.by || "" },
    { label: t("rights.fields"), cell: (c) => (c.fields || []).map((name) => word("correctable", name)).join(t("common.list_separator")) },
    { label: t("rights.reason"), class: "wide", cell: (c) => c.reason },
  ], (l.corrections || []).map((c, i) => ({ id: String(i), ...c })), { class: "corrections" }));
}

// --- on a returnee's linkage: erasure ------------------------------------------------------------------

function erasureForm(ctx, l, slot) {
  const node = form("erasure", [
    h("p", { class: "error-lead" }, t("rights.erase_warning")),
    field("reason", t("rights.erase_reason"), textarea({ rows: 2 })),
  ], [
    button(t("rights.erase_confirm"), null, { type: "submit", kind: "danger", action: "confirm-erase" }),
    button(t("common.cancel"), () => slot.replaceChildren(), { action: "cancel" }),
  ], (formNode) => submit(formNode,
    () => api.call("POST", "/api/v1/people/erasure", { json: { returnee_id: l.id, ...formValues(formNode) } }),
    (answer) => {
      notify(t(answer.status === 202 ? "rights.erasure_requested" : "rights.erasure_already"));
      ctx.refresh();
    }));
  node.classList.add("inline");
  slot.replaceChildren(node);
  node.querySelector("textarea").focus();
}

export function erasurePanel(l) {
  const e = l.erasure;
  const order = [COMMITTEE, "community_police", "floating_population_office", "property_company", "developer"];
  const rows = Object.entries(e.parties || {}).map(([party, state]) => ({ id: party, party, ...state }))
    .sort((a, b) => order.indexOf(a.party) - order.indexOf(b.party));
  return panel(t("rights.erasure"),
    facts([
      [t("rights.requested"), fmtTime(e.requested_at, true) + (e.requested_by ? " · " + e.requested_by : "")],
      [t("rights.reason"), e.reason],
      l.deidentified_at ? [t("rights.deidentified_here"), fmtTime(l.deidentified_at, true)] : null,
    ]),
    table([
      { label: t("common.party"), cell: (p) => word("party", p.party) },
      { label: t("common.status"), cell: (p) => chip(p.status, { group: "erasure_status", tone: ANSWER_TONES[p.status], party: p.party }) },
      { label: t("rights.answered_on"), cell: (p) => fmtTime(p.at, true) },
      { label: t("rights.hold_reason"), class: "wide", cell: (p) => p.hold_reason || "" },
    ], rows, { class: "erasure" }));
}

// The supervisor's buttons on a linkage, and where their forms open.
export function rightsActions(ctx, l) {
  const slot = h("div", { class: "inline-slot" });
  const buttons = [];
  const gone = Boolean(l.deidentified_at);
  if (ctx.can("returnees:correct") && !gone) {
    buttons.push(button(t("rights.correct"), () => correctionForm(ctx, l, slot), { action: "correct" }));
  }
  if (ctx.can("people:erase") && !l.erasure) {
    buttons.push(button(t("rights.erase"), () => erasureForm(ctx, l, slot), { kind: "danger", action: "erase" }));
  }
  if (!buttons.length) return null;
  return panel(t("rights.title"), h("div", { class: "row-actions" }, buttons), slot);
}

export function personRightsRoutes() {
  return [
    { path: "/people/exports", nav: "nav.person_export", permission: "people:export", render: exportRequest },
    { path: "/people/exports/:id", permission: "people:export", parent: "/people/exports", title: "rights.export_title", render: personExport },
  ];
}
