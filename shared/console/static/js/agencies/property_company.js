// The property company: its case desk first (its work queue), the gate
// lookup a guard uses all day (one big box: a name, or a flat such as
// 7-1-502), the gate passes by name or flat, the cameras' detections, the
// households of handed-over flats with their warranty tables, and repairs
// (js/housing.js).
// A guard's role grants `passes:read` only, so a guard sees the lookups
// and nothing to decide.
import { ownBriefingRoutes } from "../briefings.js";
import * as api from "../api.js";
import { t, word } from "../i18n.js";
import { filters, page, pagerFor } from "../lists.js";
import { deskRoutes, refreshButton } from "../cases.js";
import { propertyHouseholds, repairs } from "../housing.js";
import {
  button, chip, field, flat, fmtDate, fmtTime, fmtTotal, form, formValues, h, input, notify, panel, place, screen,
  select, showErrors, submit, table,
} from "../ui.js";

const PASS_STATES = ["held", "issued", "refused"];
const FLAT = /^\s*([^\s\-/]+)\s*[-/\s]\s*([^\s\-/]+)\s*[-/\s]\s*([^\s\-/]+)\s*$/;

// What the guard typed, as the passes endpoint's filters: a flat
// (building-unit-room) or else a name.
function gateQuery(text) {
  const match = FLAT.exec(text || "");
  if (match && /\d/.test(text)) return { building: match[1], unit: match[2], room: match[3] };
  return text && text.trim() ? { name: text.trim() } : {};
}

async function gate(ctx) {
  const text = ctx.query.q || "";
  const box = input({ type: "search", value: text, class: "big-input", autofocus: true, "aria-label": t("gate.prompt"),
                      placeholder: t("gate.placeholder") });
  const node = form("gate", [field("q", t("gate.prompt"), box, t("gate.hint")),
                             h("div", { class: "field-error-pool", hidden: true },
                               ["name", "building", "unit", "room"].map((name) =>
                                 h("p", { class: "field-error", "data-error-for": name })))],
  [button(t("gate.search"), null, { type: "submit", kind: "primary big", action: "gate-search" })],
  () => ctx.go(ctx.path, { q: box.value }));
  node.classList.add("gate-form");
  let results = h("p", { class: "muted big-hint" }, t("gate.empty_prompt"));
  const query = gateQuery(text);
  if (Object.keys(query).length) {
    try {
      const found = await api.get("/api/v1/passes", { ...query, limit: 20 });
      results = found.items.length ? h("div", { class: "gate-results" }, found.items.map((p) =>
        h("article", { class: "gate-card gate-" + p.status, "data-id": p.id, "data-status": p.status },
          h("div", { class: "gate-status" }, chip(p.status, { group: "gate", big: true })),
          h("div", { class: "gate-who" }, h("strong", {}, p.name), h("span", { class: "mono" }, p.id_masked)),
          h("div", { class: "gate-flat" }, flat(p.address)),
          h("div", { class: "gate-when" }, t("gate.arrival", { date: fmtDate(p.arrival_date) }))))) :
        h("p", { class: "big-hint" }, t("gate.none", { q: text }));
      if (found.next) results = [results, h("p", { class: "muted" }, t("gate.more", { total: fmtTotal(found) }))];
    } catch (error) {
      if (!(error instanceof api.ApiError && error.status === 422)) throw error;
      node.querySelector(".field-error-pool").hidden = false;
      showErrors(node, error.errors);
      results = null;
    }
  }
  return screen(t("nav.gate"), [], node, results);
}

async function passes(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "pass-filters", [
    field("name", t("person.name"), input({ value: q.name })),
    field("building", t("address.building"), input({ value: q.building, size: 4 })),
    field("unit", t("address.unit"), input({ value: q.unit, size: 4 })),
    field("room", t("address.room"), input({ value: q.room, size: 5 })),
    field("status", t("common.status"), select([["", t("common.any")]].concat(PASS_STATES.map((s) => [s, word("gate", s)])), { value: q.status })),
  ]);
  const result = await page(ctx, "/api/v1/passes", {
    name: q.name, building: q.building, unit: q.unit, room: q.room, status: q.status }, filterNode);
  const columns = [
    { label: t("person.name"), cell: (p) => h("strong", {}, p.name) },
    { label: t("person.id_masked"), cell: (p) => h("span", { class: "mono" }, p.id_masked) },
    { label: t("person.flat"), cell: (p) => flat(p.address) },
    { label: t("person.arrival_date"), cell: (p) => fmtDate(p.arrival_date) },
    { label: t("common.status"), cell: (p) => [chip(p.status, { group: "gate" }), p.overdue && p.status === "held" ? chip("overdue") : null] },
    { label: t("pass.steward_notice"), class: "wide", cell: (p) => (p.steward_notice ? p.steward_notice.text : "") },
    { label: t("pass.held_at"), cell: (p) => fmtTime(p.held_at) },
    { label: t("pass.decided_at"), cell: (p) => fmtTime(p.decided_at) },
  ];
  return screen(t("nav.passes"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, { class: "passes" }), pagerFor(ctx, result));
}

async function detections(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "detection-filters", [
    field("camera_id", t("detection.camera"), input({ value: q.camera_id })),
    field("reported", t("detection.reported"), select([["", t("common.any")], ["true", t("common.yes")], ["false", t("common.no")]], { value: q.reported })),
  ]);
  const result = await page(ctx, "/api/v1/detections", { camera_id: q.camera_id, reported: q.reported }, filterNode);
  const columns = [
    { label: t("detection.camera"), cell: (d) => h("span", { class: "mono" }, d.camera_id) },
    { label: t("detection.kind"), cell: (d) => word("category", d.kind) },
    { label: t("case.location"), cell: (d) => place(d.location) },
    { label: t("detection.detected_at"), cell: (d) => fmtTime(d.detected_at) },
    { label: t("detection.confidence"), class: "num", cell: (d) => (d.confidence * 100).toFixed(0) + "%" },
    { label: t("detection.count"), class: "num", cell: (d) => d.count },
    { label: t("detection.reported"), cell: (d) => chip(d.reported ? "yes" : "no", { group: "yes_no", tone: d.reported ? "ok" : "neutral" }) },
    { label: t("detection.case"), cell: (d) => (d.case_id ? h("a", { href: "#/cases/" + encodeURIComponent(d.case_id) }, t("detection.open_case")) : "") },
  ];
  return screen(t("nav.detections"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, { class: "detections" }), pagerFor(ctx, result));
}

// --- tenants: their access (as the gate pass: held until the police clear), and occupants seen ---

const ACCESS_STATES = ["held", "issued", "refused", "ended"];
const OCCUPANT_STATES = ["watching", "covered", "unregistered"];

async function tenantAccess(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "tenant-access-filters", [
    field("flat", t("tenancy.flat_id"), input({ value: q.flat, size: 10 })),
    field("name", t("person.name"), input({ value: q.name })),
    field("status", t("common.status"), select([["", t("common.any")]].concat(ACCESS_STATES.map((s) => [s, word("status", s)])), { value: q.status })),
  ]);
  const result = await page(ctx, "/api/v1/tenant-access", { flat: q.flat, name: q.name, status: q.status }, filterNode);
  const columns = [
    { label: t("person.name"), cell: (a) => h("strong", {}, a.name) },
    { label: t("person.id_masked"), cell: (a) => h("span", { class: "mono" }, a.id_masked) },
    { label: t("person.flat"), cell: (a) => a.flat_id },
    { label: t("flat_tenants.since"), cell: (a) => fmtDate(a.start_date) },
    { label: t("tenant_access.police"), cell: (a) => chip(a.police) },
    { label: t("common.status"), cell: (a) => [chip(a.status), a.overdue && a.status === "held" ? chip("overdue") : null] },
    { label: t("tenant_access.held_at"), cell: (a) => fmtTime(a.held_at) },
    { label: t("pass.decided_at"), cell: (a) => fmtTime(a.decided_at) },
  ];
  return screen(t("nav.tenant_access"), [refreshButton(ctx)], h("p", { class: "lead" }, t("tenant_access.lead")),
    filterNode, table(columns, result.items, { class: "tenant-access" }), pagerFor(ctx, result));
}

function occupantForm(ctx) {
  const node = form("occupant", [
    h("div", { class: "grid" },
      field("flat.building", t("address.building"), input({ size: 4 })),
      field("flat.unit", t("address.unit"), input({ size: 4 })),
      field("flat.room", t("address.room"), input({ size: 5 })),
      field("name", t("occupant.name"), input()),
      field("note", t("occupant.note"), input())),
  ], [button(t("occupant.report"), null, { type: "submit", kind: "primary", action: "report-occupant" })],
  (formNode) => submit(formNode, () => api.post("/api/v1/occupants", formValues(formNode)), (occupant) => {
    notify(t(occupant.status === "covered" ? "occupant.covered_now" : "occupant.reported",
      { name: occupant.name, flat: occupant.flat_id }));
    ctx.refresh();
  }));
  return node;
}

async function occupants(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "occupant-filters", [
    field("flat", t("tenancy.flat_id"), input({ value: q.flat, size: 10 })),
    field("status", t("common.status"), select([["", t("common.any")]].concat(OCCUPANT_STATES.map((s) => [s, word("status", s)])), { value: q.status })),
  ]);
  const result = await page(ctx, "/api/v1/occupants", { flat: q.flat, status: q.status }, filterNode);
  const columns = [
    { label: t("occupant.name"), cell: (o) => h("strong", {}, o.name) },
    { label: t("person.flat"), cell: (o) => o.flat_id },
    { label: t("occupant.seen_at"), cell: (o) => fmtTime(o.seen_at) },
    { label: t("occupant.due_at"), cell: (o) => fmtTime(o.due_at) },
    { label: t("common.status"), cell: (o) => chip(o.status) },
    { label: t("occupant.case"), cell: (o) => (o.case_id ? h("a", { href: "#/cases/" + encodeURIComponent(o.case_id) }, t("detection.open_case")) : "") },
  ];
  return screen(t("nav.occupants"), [refreshButton(ctx)], h("p", { class: "lead" }, t("occupant.lead")),
    ctx.can("occupants:write") ? panel(t("occupant.report"), occupantForm(ctx)) : null,
    filterNode, table(columns, result.items, { class: "occupants" }), pagerFor(ctx, result));
}

const [queue, ...moreDesk] = deskRoutes();

export const routes = [
  queue,
  { path: "/gate", nav: "nav.gate", permission: "passes:read", render: gate },
  { path: "/passes", nav: "nav.passes", permission: "passes:read", render: passes },
  { path: "/tenant-access", nav: "nav.tenant_access", permission: "tenants:read", render: tenantAccess },
  { path: "/occupants", nav: "nav.occupants", permission: "occupants:read", render: occupants },
  { path: "/detections", nav: "nav.detections", permission: "detections:read", render: detections },
  { path: "/households", nav: "nav.households", permission: "households:read", render: propertyHouseholds },
  { path: "/repairs", nav: "nav.repairs", permission: "repairs:read", render: repairs },
  ...moreDesk,
  ...ownBriefingRoutes(),
];
