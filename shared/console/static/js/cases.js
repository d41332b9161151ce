// Every agency's case desk: its work queue (the cases dispatched to it)
// with accept / return / resolve, reporting a case, and what it reported.
// The committee adds its own screens (committee_cases.js) and lists the
// categories its routing table serves; the others keep them in the catalogue.
import * as api from "./api.js";
import { entries, t, word } from "./i18n.js";
import { filters, page, pagerFor } from "./lists.js";
import {
  button, checkbox, chip, facts, field, fmtTime, form, formValues, h, input, notify, place, screen,
  notifyError, select, submit, table, textarea, yesNo,
} from "./ui.js";

const ASSIGNMENT_STATUSES = ["dispatched", "accepted", "returned", "resolved", "withdrawn"];
export const CASE_STATUSES = ["reported", "filed", "dispatched", "in_progress", "resolved", "closed"];

export function options(group, values, anyLabel) {
  const list = values.map((value) => [value, word(group, value)]);
  return anyLabel ? [["", anyLabel]].concat(list) : list;
}

export function categoryOptions(anyLabel) {
  const list = entries("category");
  return anyLabel ? [["", anyLabel]].concat(list) : list;
}

export function refreshButton(ctx) {
  return button(t("common.refresh"), () => ctx.refresh(), { action: "refresh", kind: "ghost" });
}

// --- accept / return / resolve ------------------------------------------------------

function dueOf(item) {
  if (item.status === "dispatched") return [t("case.accept_due"), item.accept_due];
  if (item.status === "accepted") return [t("case.resolve_due"), item.resolve_due];
  return null;
}

// A small form for the action that needs words (return: reason, resolve: note).
function textAction(ctx, item, action, fieldName, slot) {
  const text = textarea({ rows: 2 });
  const node = form("case-" + action, [field(fieldName, t("case." + action + "_" + fieldName), text)], [
    button(t("case.confirm_" + action), null, { type: "submit", kind: action === "return" ? "danger" : "primary",
                                               action: "confirm-" + action }),
    button(t("common.cancel"), () => slot.replaceChildren(), { action: "cancel" }),
  ], (formNode) => submit(formNode,
    () => api.post("/api/v1/cases/" + encodeURIComponent(item.id) + "/" + action, formValues(formNode)),
    () => {
      notify(t("case.done_" + action, { category: word("category", item.category) }));
      ctx.refresh();
    }));
  node.classList.add("inline");
  slot.replaceChildren(node);
  text.focus();
}

// The buttons for this party's assignment: one action each.
export function caseActions(ctx, item, slot) {
  if (!ctx.can("cases:work") || item.case_status === "closed") return null;
  const buttons = [];
  if (item.status === "dispatched") {
    buttons.push(button(t("case.accept"), async (event) => {
      event.target.disabled = true;
      try {
        await api.post("/api/v1/cases/" + encodeURIComponent(item.id) + "/accept", {});
        notify(t("case.done_accept", { category: word("category", item.category) }));
        ctx.refresh();
      } catch (error) {
        event.target.disabled = false;
        notifyError(error);
      }
    }, { kind: "primary", action: "accept" }));
    buttons.push(button(t("case.return"), () => textAction(ctx, item, "return", "reason", slot),
      { action: "return" }));
  } else if (item.status === "accepted") {
    buttons.push(button(t("case.resolve"), () => textAction(ctx, item, "resolve", "note", slot),
      { kind: "primary", action: "resolve" }));
  }
  return buttons.length ? h("div", { class: "row-actions" }, buttons) : null;
}

// --- the work queue -------------------------------------------------------------------

async function assignedQueue(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "case-queue-filters", [
    field("status", t("common.status"), select(options("status", ASSIGNMENT_STATUSES, t("common.any")), { value: q.status })),
    field("category", t("case.category"), select(categoryOptions(t("common.any")), { value: q.category })),
    field("overdue", t("common.only_overdue"), checkbox({ "data-only": true, checked: q.overdue === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/cases", {
    role: "assigned", status: q.status, category: q.category, overdue: q.overdue }, filterNode);
  const slots = new Map();
  const columns = [
    { label: t("case.category"), cell: (c) => h("a", { href: "#/cases/" + encodeURIComponent(c.id) }, word("category", c.category)) },
    { label: t("case.description"), class: "wide", cell: (c) => c.description },
    { label: t("case.location"), cell: (c) => place(c.location) },
    { label: t("case.priority"), cell: (c) => chip(c.priority, { group: "priority", tone: c.priority === "urgent" ? "bad" : "neutral" }) },
    { label: t("case.my_status"), cell: (c) => [chip(c.status), c.overdue ? chip("overdue") : null, c.escalated ? chip("escalated") : null] },
    { label: t("case.case_status"), cell: (c) => chip(c.case_status) },
    { label: t("case.due"), cell: (c) => { const due = dueOf(c); return due ? [h("small", {}, due[0]), h("br"), fmtTime(due[1])] : ""; } },
    { label: t("common.actions"), cell: (c) => caseActions(ctx, c, slots.get(c.id)) },
  ];
  result.items.forEach((c) => slots.set(c.id, h("div", { class: "inline-slot" })));
  return screen(t("nav.cases_assigned"), [refreshButton(ctx)],
    filterNode,
    table(columns, result.items, {
      class: "cases",
      after: (c, span) => h("tr", { class: "inline-row" }, h("td", { colspan: span }, slots.get(c.id))),
    }),
    pagerFor(ctx, result));
}

// --- what this agency reported --------------------------------------------------------

async function reportedList(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "case-reported-filters", [
    field("status", t("common.status"), select(options("status", CASE_STATUSES, t("common.any")), { value: q.status })),
    field("category", t("case.category"), select(categoryOptions(t("common.any")), { value: q.category })),
  ]);
  const result = await page(ctx, "/api/v1/cases", { role: "reported", status: q.status, category: q.category }, filterNode);
  const columns = [
    { label: t("case.category"), cell: (c) => h("a", { href: "#/cases/" + encodeURIComponent(c.id) }, word("category", c.category)) },
    { label: t("case.description"), class: "wide", cell: (c) => c.description },
    { label: t("case.location"), cell: (c) => place(c.location) },
    { label: t("case.source"), cell: (c) => word("source", c.source) },
    { label: t("case.case_status"), cell: (c) => [chip(c.status), c.escalated ? chip("escalated") : null] },
    { label: t("case.reported_at"), cell: (c) => fmtTime(c.reported_at) },
    { label: t("case.reported_by_user"), cell: (c) => c.reported_by_user || "" },
  ];
  return screen(t("nav.cases_reported"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, { class: "cases" }), pagerFor(ctx, result));
}

// --- report a case ----------------------------------------------------------------------

export async function reportForm(ctx, categories) {
  const key = { value: api.idempotencyKey() };
  const categoryList = categories || categoryOptions();
  const node = form("case-report", [
    h("div", { class: "grid" },
      field("category", t("case.category"), select([["", t("common.choose")]].concat(categoryList))),
      field("source", t("case.source"), select([["", t("common.choose")]].concat(entries("source"))))),
    field("description", t("case.description"), textarea({ rows: 3 })),
    h("fieldset", {}, h("legend", {}, t("case.location")),
      h("div", { class: "grid grid-4" },
        field("location.building", t("address.building"), input()),
        field("location.unit", t("address.unit"), input()),
        field("location.room", t("address.room"), input()),
        field("location.spot", t("case.spot"), input()))),
    field("safety_risk", t("case.safety_risk"), checkbox(), t("case.safety_risk_hint")),
    h("fieldset", {}, h("legend", {}, t("case.reporter")),
      h("p", { class: "hint" }, t("case.reporter_hint")),
      h("div", { class: "grid" },
        field("reporter.name", t("case.reporter_name"), input()),
        field("reporter.phone", t("case.reporter_phone"), input({ inputmode: "tel" })))),
  ], [button(t("case.report_submit"), null, { type: "submit", kind: "primary", action: "report-case" })],
  (formNode) => submit(formNode, () => api.call("POST", "/api/v1/cases", {
    json: formValues(formNode), headers: { "Idempotency-Key": key.value } }),
  (answer) => {
    key.value = api.idempotencyKey();
    notify(t("case.reported", { category: word("category", answer.data.category), id: answer.data.id }));
    ctx.go(ctx.agency === "neighborhood_committee" ? "/cases/" + encodeURIComponent(answer.data.id) : "/cases/reported");
  }));
  return screen(t("nav.case_report"), [], node);
}

// --- one case, as this desk sees it -------------------------------------------------------

async function deskCase(ctx) {
  const item = await api.get("/api/v1/cases/" + encodeURIComponent(ctx.params.id));
  const slot = h("div", { class: "inline-slot" });
  const assigned = item.role === "assigned";
  const rows = [
    [t("case.category"), word("category", item.category)],
    [t("case.description"), item.description],
    [t("case.location"), place(item.location)],
    [t("case.source"), word("source", item.source)],
    [t("case.safety_risk"), yesNo(item.safety_risk)],
    [t("case.reported_by"), word("party", item.reported_by)],
  ];
  if (assigned) {
    rows.push(
      [t("case.priority"), chip(item.priority, { group: "priority" })],
      [t("case.assignment_role"), word("assignment_role", item.assignment_role)],
      [t("case.my_status"), [chip(item.status), item.overdue ? chip("overdue") : null]],
      [t("case.case_status"), chip(item.case_status)],
      [t("case.dispatched_at"), fmtTime(item.dispatched_at)],
      [t("case.accept_due"), fmtTime(item.accept_due)],
      [t("case.resolve_due"), fmtTime(item.resolve_due)],
      item.reporter ? [t("case.reporter"), item.reporter.name + " · " + item.reporter.phone] : null,
      item.accepted_at ? [t("case.accepted_at"), fmtTime(item.accepted_at) + " · " + (item.accepted_by || "")] : null,
      item.returned_at ? [t("case.return_reason"), item.return_reason] : null,
      item.resolved_at ? [t("case.resolution_note"), item.resolution_note] : null,
      item.rework ? [t("case.rework"), item.rework.note || item.rework.reason] : null);
  } else {
    rows.push([t("case.case_status"), [chip(item.status), item.escalated ? chip("escalated") : null]],
      [t("case.reported_at"), fmtTime(item.reported_at)]);
  }
  return screen(word("category", item.category), [refreshButton(ctx)],
    facts(rows), assigned ? caseActions(ctx, item, slot) : null, slot);
}

// The routes of a desk (every agency but the committee, which has its own).
export function deskRoutes() {
  return [
    { path: "/cases/assigned", nav: "nav.cases_assigned", permission: "cases:read", render: assignedQueue },
    { path: "/cases/new", nav: "nav.case_report", permission: "cases:report", render: (ctx) => reportForm(ctx) },
    { path: "/cases/reported", nav: "nav.cases_reported", permission: "cases:read", render: reportedList },
    { path: "/cases/:id", permission: "cases:read", parent: "/cases/assigned", title: "case.title", render: deskCase },
  ];
}

export { assignedQueue, reportedList };
