// Housing across the parties: the developer's handovers and its warranty
// desk, the property company's households (with each flat's warranty
// table) and repairs, and the committee's resident registry. Every rule
// (a household must be the allocation's, who repairs what, the limits)
// is the server's: these screens send what was typed and show its answer.
import * as api from "./api.js";
import { t, word } from "./i18n.js";
import { filters, page, pagerFor } from "./lists.js";
import { refreshButton } from "./cases.js";
import {
  button, chip, facts, field, flat, fmtDate, fmtTime, form, formValues, h, input, notify, notifyError, panel,
  screen, select, submit, table, textarea,
} from "./ui.js";

const REPAIR_CATEGORIES = ["structure", "waterproofing", "heating", "cooling", "electrical", "plumbing",
                           "equipment", "decoration", "common_area", "appliance", "other"];
const RESPONSIBLE = ["developer", "property_company", "owner"];
const REPAIR_STATES = ["open", "assigned", "accepted", "resolved"];
const CASE_STATES = ["assigned", "accepted", "resolved"];

function choices(group, values, anyLabel) {
  return [["", anyLabel]].concat(values.map((value) => [value, word(group, value)]));
}

function flatFields(prefix) {
  return h("div", { class: "grid" },
    field(prefix + "building", t("address.building"), input({ size: 6 })),
    field(prefix + "unit", t("address.unit"), input({ size: 4 })),
    field(prefix + "room", t("address.room"), input({ size: 5 })));
}

function members(item) {
  return (item.members || []).join(t("common.list_separator"));
}

function due(label, at, overdue) {
  return at ? [h("small", {}, label), h("br"), fmtTime(at), overdue ? [" ", chip("overdue")] : null] : "";
}

// --- the developer: handovers ------------------------------------------------------------

function handoverForm(ctx) {
  return form("handover", [
    flatFields("flat."),
    field("members", t("handover.members"), textarea({ rows: 3, "data-type": "lines" }), t("handover.members_hint")),
    field("handed_over_on", t("handover.date"), input({ type: "date" })),
  ], [button(t("handover.record"), null, { type: "submit", kind: "primary", action: "record-handover" })],
  (formNode) => submit(formNode, () => api.post("/api/v1/handovers", formValues(formNode)), (answer) => {
    notify(t("handover.recorded", { flat: flat(answer.flat) }));
    ctx.refresh();
  }));
}

export async function handovers(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "handover-filters", [
    field("building", t("address.building"), input({ value: q.building, size: 6 })),
  ]);
  const result = await page(ctx, "/api/v1/handovers", { building: q.building }, filterNode);
  const columns = [
    { label: t("person.flat"), cell: (item) => h("strong", {}, flat(item.flat)) },
    { label: t("handover.members"), class: "wide", cell: members },
    { label: t("handover.date"), cell: (item) => fmtDate(item.handed_over_on) },
    { label: t("handover.recorded_at"), cell: (item) => [fmtTime(item.recorded_at), h("br"), h("small", {}, item.recorded_by)] },
  ];
  return screen(t("nav.handovers"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, { class: "handovers" }), pagerFor(ctx, result),
    ctx.can("handovers:write") ? panel(t("handover.new"), h("p", { class: "hint" }, t("handover.lead")), handoverForm(ctx)) : null);
}

// --- the developer: warranty cases ---------------------------------------------------------

// A resolve with its note, in the row's slot: the developer's warranty case
// or the property company's own repair.
function resolveForm(ctx, item, slot, path, name) {
  const note = textarea({ rows: 2 });
  const node = form(name, [field("note", t("warranty.resolution_note"), note)], [
    button(t("warranty.confirm_resolve"), null, { type: "submit", kind: "primary", action: "confirm-resolve" }),
    button(t("common.cancel"), () => slot.replaceChildren(), { action: "cancel" }),
  ], (formNode) => submit(formNode,
    () => api.post(path + encodeURIComponent(item.id) + "/resolve", formValues(formNode)),
    () => {
      notify(t("warranty.done_resolve", { flat: flat(item.flat) }));
      ctx.refresh();
    }));
  node.classList.add("inline");
  slot.replaceChildren(node);
  note.focus();
}

function caseActions(ctx, item, slot) {
  if (!ctx.can("warranty:work")) return null;
  if (item.status === "assigned") {
    return button(t("warranty.accept"), async (event) => {
      event.target.disabled = true;
      try {
        await api.post("/api/v1/warranty-cases/" + encodeURIComponent(item.id) + "/accept", {});
        notify(t("warranty.done_accept", { flat: flat(item.flat) }));
        ctx.refresh();
      } catch (error) {
        event.target.disabled = false;
        notifyError(error);
      }
    }, { kind: "primary", action: "accept" });
  }
  if (item.status === "accepted") {
    return button(t("warranty.resolve"), () => resolveForm(ctx, item, slot, "/api/v1/warranty-cases/", "warranty-resolve"),
      { kind: "primary", action: "resolve" });
  }
  return null;
}

export async function warrantyCases(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "warranty-filters", [
    field("status", t("common.status"), select(choices("status", CASE_STATES, t("common.any")), { value: q.status })),
    field("urgent", t("warranty.only_urgent"), h("input", { type: "checkbox", "data-only": true, checked: q.urgent === "true" })),
    field("overdue", t("common.only_overdue"), h("input", { type: "checkbox", "data-only": true, checked: q.overdue === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/warranty-cases", { status: q.status, urgent: q.urgent, overdue: q.overdue }, filterNode);
  const slots = new Map(result.items.map((item) => [item.id, h("div", { class: "inline-slot" })]));
  const columns = [
    { label: t("person.flat"), cell: (item) => h("strong", {}, flat(item.flat)) },
    { label: t("repair.category"), cell: (item) => [word("repair_category", item.category), h("br"),
                                                    h("small", {}, word("part", item.part))] },
    { label: t("repair.description"), class: "wide", cell: (item) => item.description },
    { label: t("repair.resident"), cell: (item) => [item.resident.name, h("br"), h("span", { class: "mono" }, item.resident.phone)] },
    { label: t("warranty.until"), cell: (item) => fmtDate(item.warranty.end) },
    { label: t("common.status"), cell: (item) => [chip(item.status), item.urgent ? [" ", chip("urgent")] : null] },
    { label: t("warranty.due"), cell: (item) => (item.status === "assigned" ? due(t("warranty.accept_due"), item.accept_due, item.overdue)
      : item.status === "accepted" ? due(t("warranty.resolve_due"), item.resolve_due, item.overdue) : fmtTime(item.resolved_at)) },
    { label: t("common.actions"), cell: (item) => caseActions(ctx, item, slots.get(item.id)) },
  ];
  return screen(t("nav.warranty_cases"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, {
      class: "warranty-cases",
      after: (item, span) => h("tr", { class: "inline-row" }, h("td", { colspan: span }, slots.get(item.id))),
    }), pagerFor(ctx, result));
}

// --- households: the property company (with the warranty table) and the committee -------

function warrantyTable(household) {
  const columns = [
    { label: t("repair.category"), cell: (row) => word("repair_category", row.category) },
    { label: t("warranty.covers"), class: "wide", cell: (row) => word("warranty_covers", row.category) },
    { label: t("warranty.period"), cell: (row) => (row.unit === "years"
      ? t(row.category === "structure" ? "warranty.design_life" : "warranty.years", { n: row.length })
      : t("warranty.seasons_" + row.category, { n: row.length })) },
    { label: t("warranty.starts"), cell: (row) => fmtDate(row.starts) },
    { label: t("warranty.until"), cell: (row) => h("strong", {}, fmtDate(row.end)) },
  ];
  return table(columns, (household.warranty || []).map((row) => ({ ...row, id: row.category })), { class: "warranty-table" });
}

function householdScreen(title, withWarranty) {
  return async (ctx) => {
    const q = ctx.query;
    const filterNode = filters(ctx, "household-filters", [
      field("flat", t("household.flat"), input({ value: q.flat, size: 12, placeholder: "7-1-502" })),
      field("building", t("address.building"), input({ value: q.building, size: 6 })),
    ]);
    const result = await page(ctx, "/api/v1/households", { flat: q.flat, building: q.building }, filterNode);
    const columns = [
      { label: t("person.flat"), cell: (item) => (withWarranty
        ? h("a", { href: "#/households?flat=" + encodeURIComponent(item.id) }, h("strong", {}, flat(item.flat)))
        : h("strong", {}, flat(item.flat))) },
      { label: t("handover.members"), class: "wide", cell: members },
      { label: t("handover.date"), cell: (item) => fmtDate(item.handed_over_on) },
      { label: withWarranty ? t("household.taken_on_at") : t("household.registered_at"),
        cell: (item) => fmtTime(item.taken_on_at || item.registered_at) },
    ];
    const one = withWarranty && q.flat && result.items.length === 1 ? result.items[0] : null;
    return screen(t(title), [refreshButton(ctx)], filterNode,
      table(columns, result.items, { class: "households" }), pagerFor(ctx, result),
      one ? panel(t("household.warranty_of", { flat: flat(one.flat) }),
        facts([[t("handover.members"), members(one)], [t("handover.date"), fmtDate(one.handed_over_on)]]),
        warrantyTable(one), h("p", { class: "hint" }, t("household.warranty_hint"))) : null);
  };
}

export const propertyHouseholds = householdScreen("nav.households", true);
export const registry = householdScreen("nav.registry", false);

// --- the property company: repairs --------------------------------------------------------

// Reported: the flat's repairs, the new one with who repairs it and why.
function repairForm(ctx) {
  return form("repair", [
    flatFields("flat."),
    h("div", { class: "grid" },
      field("category", t("repair.category"), select(choices("repair_category", REPAIR_CATEGORIES, t("common.choose")))),
      field("part", t("repair.part"), select(choices("part", ["common", "in_flat"], t("repair.part_default"))))),
    field("description", t("repair.description"), textarea({ rows: 2 })),
    h("div", { class: "grid" },
      field("resident.name", t("repair.resident_name"), input()),
      field("resident.phone", t("repair.resident_phone"), input({ inputmode: "tel", size: 12 }))),
  ], [button(t("repair.report"), null, { type: "submit", kind: "primary", action: "report-repair" })],
  (formNode) => submit(formNode, () => api.post("/api/v1/repairs", formValues(formNode)), (answer) => {
    notify(t("repair.reported", { who: word("responsible", answer.responsible) }), "ok", answer.reason);
    ctx.go(ctx.path, { flat: flat(answer.flat) });
  }));
}

function resolveOwn(ctx, item, slot) {
  if (!ctx.can("repairs:write") || item.status !== "open") return null;
  return button(t("repair.resolve"), () => resolveForm(ctx, item, slot, "/api/v1/repairs/", "repair-resolve"),
    { action: "resolve-repair" });
}

function developerState(item) {
  const task = (item.tasks || {}).developer;
  if (!task) return "";
  const label = task.due_kind === "accept" ? t("warranty.accept_due") : t("warranty.resolve_due");
  return task.done ? fmtTime(task.done_at) : due(label, task.due_at, task.overdue);
}

export async function repairs(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "repair-filters", [
    field("flat", t("household.flat"), input({ value: q.flat, size: 12, placeholder: "7-1-502" })),
    field("responsible", t("repair.responsible"), select(choices("responsible", RESPONSIBLE, t("common.any")), { value: q.responsible })),
    field("status", t("common.status"), select(choices("status", REPAIR_STATES, t("common.any")), { value: q.status })),
    field("overdue", t("common.only_overdue"), h("input", { type: "checkbox", "data-only": true, checked: q.overdue === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/repairs", {
    flat: q.flat, responsible: q.responsible, status: q.status, overdue: q.overdue }, filterNode);
  const slots = new Map(result.items.map((item) => [item.id, h("div", { class: "inline-slot" })]));
  const columns = [
    { label: t("person.flat"), cell: (item) => h("strong", {}, flat(item.flat)) },
    { label: t("repair.category"), cell: (item) => [word("repair_category", item.category), h("br"), h("small", {}, word("part", item.part))] },
    { label: t("repair.description"), class: "wide", cell: (item) => item.description },
    { label: t("repair.resident"), cell: (item) => [item.resident.name, h("br"), h("span", { class: "mono" }, item.resident.phone)] },
    { label: t("repair.responsible"), cell: (item) => [chip(item.responsible, { group: "responsible", tone: "neutral" }), h("br"),
                                                        h("small", { class: "reason-text" }, item.reason)] },
    { label: t("repair.warranty"), cell: (item) => (item.warranty ? [item.warranty.period, h("br"), t("warranty.until"), " ",
      fmtDate(item.warranty.end), h("br"), item.warranty.covered ? t("warranty.covered") : t("warranty.expired")] : t("warranty.none")) },
    { label: t("common.status"), cell: (item) => [chip(item.status), item.urgent ? [" ", chip("urgent")] : null] },
    { label: t("warranty.due"), cell: developerState },
    { label: t("common.actions"), cell: (item) => resolveOwn(ctx, item, slots.get(item.id)) },
  ];
  return screen(t("nav.repairs"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, {
      class: "repairs",
      after: (item, span) => h("tr", { class: "inline-row" }, h("td", { colspan: span }, slots.get(item.id))),
    }), pagerFor(ctx, result),
    ctx.can("repairs:write") ? panel(t("repair.new"), h("p", { class: "hint" }, t("repair.lead")), repairForm(ctx)) : null);
}
