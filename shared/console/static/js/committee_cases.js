// The committee's own case screens: every case with each party's
// assignment as a chip, one case with its timeline and the committee's
// decisions (dispatch, verify, the resident's call-back), and the KPIs.
import * as api from "./api.js";
import { entries, t, word } from "./i18n.js";
import { filters, page, pagerFor } from "./lists.js";
import {
  CASE_STATUSES, assignedQueue, caseActions, categoryOptions, options, refreshButton, reportForm, reportedList,
} from "./cases.js";
import { traceButton } from "./trace.js";
import {
  button, checkbox, chip, facts, field, fmtTime, form, formValues, h, input, isoDay, notify, panel,
  partyChip, percent, place, screen, select, showErrors, submit, table, yesNo,
} from "./ui.js";

const PARTIES = ["neighborhood_committee", "community_police", "floating_population_office", "property_company", "developer"];
const PRIORITIES = ["urgent", "24h", "normal", "complex"];
const COMMITTEE = "neighborhood_committee";

function assignmentChips(c) {
  return h("div", { class: "chips" }, Object.entries(c.assignments || {}).map(([party, task]) =>
    partyChip(party, task.status, task.overdue || (c.overdue || []).includes(party))));
}

function caseLink(c) {
  return h("a", { href: "#/cases/" + encodeURIComponent(c.id) }, word("category", c.category));
}

// --- every case --------------------------------------------------------------------------

async function allCases(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "case-filters", [
    field("status", t("common.status"), select(options("status", CASE_STATUSES.slice(1), t("common.any")), { value: q.status })),
    field("category", t("case.category"), select(categoryOptions(t("common.any")), { value: q.category })),
    field("party", t("common.party"), select(options("party", PARTIES, t("common.any")), { value: q.party })),
    field("overdue", t("common.only_overdue"), checkbox({ "data-only": true, checked: q.overdue === "true" })),
    field("escalated", t("case.only_escalated"), checkbox({ "data-only": true, checked: q.escalated === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/cases", {
    status: q.status, category: q.category, party: q.party, overdue: q.overdue, escalated: q.escalated }, filterNode);
  const columns = [
    { label: t("case.category"), cell: caseLink },
    { label: t("case.description"), class: "wide", cell: (c) => c.description },
    { label: t("case.location"), cell: (c) => place(c.location) },
    { label: t("case.priority"), cell: (c) => chip(c.priority, { group: "priority", tone: c.priority === "urgent" ? "bad" : "neutral" }) },
    { label: t("case.case_status"), cell: (c) => [chip(c.status), c.escalated ? chip("escalated") : null] },
    { label: t("case.parties"), cell: assignmentChips },
    { label: t("case.reported_by"), cell: (c) => word("party_short", c.reported_by) },
    { label: t("case.reported_at"), cell: (c) => fmtTime(c.reported_at) },
  ];
  return screen(t("nav.cases_all"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, { class: "cases", onRow: (c) => ctx.go("/cases/" + encodeURIComponent(c.id)) }),
    pagerFor(ctx, result));
}

// --- one case ------------------------------------------------------------------------------

function timelineAction(action) {
  const [what, detail] = action.split(": ");
  const words = word("timeline", what);
  if (!detail) return words;
  const group = { verified: "verify_outcome", feedback: "satisfaction", overdue: "limit", escalated: "escalation" }[what];
  return words + " · " + word(group || "status", detail);
}

export function timeline(events) {
  const sorted = [...events].sort((a, b) => new Date(a.at) - new Date(b.at));
  return h("ol", { class: "timeline" }, sorted.length ? sorted.map((e) =>
    h("li", { "data-action": e.action },
      h("time", { datetime: e.at }, fmtTime(e.at, true)),
      h("span", { class: "timeline-party" }, e.party ? word("party_short", e.party) : ""),
      h("span", { class: "timeline-action" }, e.label || timelineAction(e.action)),
      e.by ? h("span", { class: "timeline-by" }, e.by) : null,
      e.note ? h("span", { class: "timeline-note" }, e.note) : null)) : h("li", { class: "empty" }, t("common.empty")));
}

function assignmentsTable(c) {
  const rows = Object.entries(c.assignments || {}).map(([party, task]) => ({ id: party, party, ...task }));
  return table([
    { label: t("common.party"), cell: (a) => partyChip(a.party, a.status, a.overdue) },
    { label: t("case.assignment_role"), cell: (a) => word("assignment_role", a.role) },
    { label: t("case.round"), cell: (a) => a.round },
    { label: t("case.due"), cell: (a) => a.due_at ? [h("small", {}, word("limit", a.due_kind)), h("br"), fmtTime(a.due_at)] : "" },
    { label: t("case.accepted_at"), cell: (a) => a.accepted_at ? fmtTime(a.accepted_at) + " · " + (a.accepted_by || "") : "" },
    { label: t("case.resolution_note"), class: "wide", cell: (a) => a.resolution_note || a.return_reason || "" },
  ], rows, { class: "assignments" });
}

function dispatchForm(ctx, c) {
  const active = Object.entries(c.assignments || {})
    .filter(([, task]) => ["dispatched", "accepted", "resolved"].includes(task.status)).map(([party]) => party);
  const boxes = h("div", { class: "checks" }, PARTIES.map((party) => h("label", { class: "check" },
    checkbox({ name: "to", value: party, "data-multi": true, checked: active.includes(party) }), word("party", party))));
  return form("dispatch", [
    field("to", t("case.dispatch_to"), boxes, t("case.dispatch_hint")),
    h("div", { class: "grid" },
      field("priority", t("case.priority"), select([["", t("case.keep_priority")]].concat(options("priority", PRIORITIES)))),
      field("note", t("common.note"), input())),
  ], [button(t("case.dispatch"), null, { type: "submit", kind: "primary", action: "dispatch" })],
  (node) => submit(node, () => api.post("/api/v1/cases/" + encodeURIComponent(c.id) + "/dispatch", formValues(node)),
    () => { notify(t("case.done_dispatch")); ctx.refresh(); }));
}

function verifyForm(ctx, c) {
  return form("verify", [
    h("div", { class: "grid" },
      field("outcome", t("case.verify_outcome"), select([["", t("common.choose")]].concat(entries("verify_outcome")))),
      field("note", t("common.note"), input())),
  ], [button(t("case.verify"), null, { type: "submit", kind: "primary", action: "verify" })],
  (node) => submit(node, () => api.post("/api/v1/cases/" + encodeURIComponent(c.id) + "/verify", formValues(node)),
    (answer) => { notify(t(answer.status === "closed" ? "case.done_verify_closed" : "case.done_verify_rework")); ctx.refresh(); }));
}

function feedbackForm(ctx, c) {
  return form("feedback", [
    h("div", { class: "grid" },
      field("satisfaction", t("case.satisfaction"), select([["", t("common.choose")]].concat(entries("satisfaction")))),
      field("resolved", t("case.resident_says_resolved"), select([["", t("common.choose")], ["true", t("common.yes")], ["false", t("common.no")]], { "data-type": "bool" })),
      field("note", t("common.note"), input())),
  ], [button(t("case.record_feedback"), null, { type: "submit", kind: "primary", action: "feedback" })],
  (node) => submit(node, () => api.post("/api/v1/cases/" + encodeURIComponent(c.id) + "/feedback", formValues(node)),
    (answer) => { notify(t(answer.closed_at ? "case.done_feedback" : "case.done_feedback_reopened")); ctx.refresh(); }));
}

async function committeeCase(ctx) {
  const c = await api.get("/api/v1/cases/" + encodeURIComponent(ctx.params.id));
  const own = c.assignments && c.assignments[COMMITTEE];
  const slot = h("div", { class: "inline-slot" });
  const ownActions = own ? caseActions(ctx, { id: c.id, category: c.category, status: own.status, case_status: c.status }, slot) : null;
  const panels = [];
  if (ownActions) panels.push(panel(t("case.our_part"), ownActions, slot));
  if (ctx.can("cases:verify") && c.status === "resolved") panels.push(panel(t("case.verify_title"), verifyForm(ctx, c)));
  if (ctx.can("cases:feedback") && c.closed_at) panels.push(panel(t("case.feedback_title"), feedbackForm(ctx, c)));
  if (ctx.can("cases:dispatch") && !c.closed_at) panels.push(panel(t("case.dispatch_title"), dispatchForm(ctx, c)));
  return screen(word("category", c.category), [chip(c.status, { big: true }), c.escalated ? chip("escalated") : null,
    traceButton(ctx, c.id), refreshButton(ctx)],
    h("div", { class: "columns" },
      h("div", {},
        panel(t("case.details"), facts([
          [t("case.description"), c.description],
          [t("case.location"), place(c.location)],
          [t("case.source"), word("source", c.source)],
          [t("case.priority"), chip(c.priority, { group: "priority" })],
          [t("case.safety_risk"), yesNo(c.safety_risk)],
          [t("case.reported_by"), word("party", c.reported_by) + (c.reported_by_user ? " · " + c.reported_by_user : "")],
          [t("case.reported_at"), fmtTime(c.reported_at)],
          c.reporter ? [t("case.reporter"), c.reporter.name + " · " + c.reporter.phone] : null,
          c.detection ? [t("case.detection"), c.detection.camera_id + " · " + word("category", c.detection.kind) + " × " + c.detection.count] : null,
          [t("case.returns_reworks"), t("case.counts", { returns: c.returns, reworks: c.reworks, reopened: c.reopened })],
          c.closed_at ? [t("case.closed_at"), fmtTime(c.closed_at)] : null,
        ])),
        panel(t("case.parties"), assignmentsTable(c)),
        panels),
      h("div", {}, panel(t("case.timeline"), timeline(c.timeline || [])))));
}

// --- the committee's KPIs ---------------------------------------------------------------------

async function kpis(ctx) {
  const today = new Date();
  const from = ctx.query.from || isoDay(new Date(today.getTime() - 29 * 86400000));
  const to = ctx.query.to || isoDay(today);
  const filterNode = filters(ctx, "kpi-filters", [
    field("from", t("kpi.from"), input({ type: "date", value: from })),
    field("to", t("kpi.to"), input({ type: "date", value: to })),
  ]);
  let result = null;
  try {
    result = await api.get("/api/v1/case-kpis", { from, to });
  } catch (error) {
    if (!(error instanceof api.ApiError && error.status === 422)) throw error;
    showErrors(filterNode, error.errors);
    notify(t("error.invalid_filter"), "error");
  }
  const rows = result ? Object.entries(result.parties).map(([party, row]) => ({ id: party, party, ...row }))
    .concat([{ id: "total", party: "total", ...result.total }]) : [];
  const columns = [
    { label: t("common.party"), cell: (r) => (r.party === "total" ? h("strong", {}, t("kpi.total")) : word("party", r.party)) },
    { label: t("kpi.dispatched"), class: "num", cell: (r) => r.dispatched },
    { label: t("kpi.response_rate"), class: "num", cell: (r) => percent(r.response_rate) },
    { label: t("kpi.resolved"), class: "num", cell: (r) => r.resolved },
    { label: t("kpi.on_time_resolution_rate"), class: "num", cell: (r) => percent(r.on_time_resolution_rate) },
    { label: t("kpi.returned"), class: "num", cell: (r) => r.returned },
    { label: t("kpi.return_rate"), class: "num", cell: (r) => percent(r.return_rate) },
    { label: t("kpi.overdue"), class: "num", cell: (r) => r.overdue_accept + r.overdue_resolve },
    { label: t("kpi.satisfaction_rate"), class: "num", cell: (r) => percent(r.satisfaction_rate) },
    { label: t("kpi.reopened"), class: "num", cell: (r) => r.reopened },
  ];
  return screen(t("nav.kpis"), [refreshButton(ctx)], filterNode, table(columns, rows, { class: "kpis" }));
}

async function committeeReportForm(ctx) {
  const routing = await api.get("/api/v1/case-categories");
  return reportForm(ctx, routing.items.map((item) => [item.category, word("category", item.category)]));
}

export function committeeCaseRoutes() {
  return [
    { path: "/cases/all", nav: "nav.cases_all", permission: "cases:read", render: allCases },
    { path: "/cases/assigned", nav: "nav.cases_assigned", permission: "cases:read", render: assignedQueue },
    { path: "/cases/new", nav: "nav.case_report", permission: "cases:report", render: committeeReportForm },
    { path: "/cases/reported", nav: "nav.cases_reported", permission: "cases:read", render: reportedList },
    { path: "/cases/:id", permission: "cases:read", parent: "/cases/all", title: "case.title", render: committeeCase },
    { path: "/kpis", nav: "nav.kpis", permission: "cases:kpis", render: kpis },
  ];
}
