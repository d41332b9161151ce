// The property company: its case desk first (its work queue), the gate
// lookup a guard uses all day (one big box: a name, or a flat such as
// 7-1-502), the gate passes by name or flat, and the cameras' detections.
// A guard's role grants `passes:read` only, so a guard sees the lookups
// and nothing to decide.
import { ownBriefingRoutes } from "../briefings.js";
import * as api from "../api.js";
import { t, word } from "../i18n.js";
import { filters, page, pagerFor } from "../lists.js";
import { deskRoutes, refreshButton } from "../cases.js";
import {
  button, chip, field, flat, fmtDate, fmtTime, fmtTotal, form, h, input, place, screen, select, showErrors, table,
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

const [queue, ...moreDesk] = deskRoutes();

export const routes = [
  queue,
  { path: "/gate", nav: "nav.gate", permission: "passes:read", render: gate },
  { path: "/passes", nav: "nav.passes", permission: "passes:read", render: passes },
  { path: "/detections", nav: "nav.detections", permission: "detections:read", render: detections },
  ...moreDesk,
  ...ownBriefingRoutes(),
];
