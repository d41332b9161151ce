// The neighborhood committee: the linkages (each of the four parties'
// status as a chip, overdue first to the eye), registering a returnee, one
// linkage with its timeline and a supervisor's correction and erasure
// (person_rights.js); a person's export; then the cases (committee_cases.js);
// the resident registry of handed-over flats (housing.js); the trace of a linkage or case across the five parties (trace.js).
import * as api from "../api.js";
import { t, word } from "../i18n.js";
import { filters, page, pagerFor } from "../lists.js";
import { refreshButton } from "../cases.js";
import { committeeBriefingRoutes } from "../briefings.js";
import { committeeCaseRoutes, timeline } from "../committee_cases.js";
import { registry } from "../housing.js";
import { correctionsPanel, erasurePanel, personRightsRoutes, rightsActions } from "../person_rights.js";
import { traceButton, traceRoutes } from "../trace.js";
import {
  button, checkbox, chip, facts, field, flat, fmtDate, fmtTime, form, formValues, h, input, isoDay, notify,
  panel, partyChip, screen, select, submit, table,
} from "../ui.js";

const LINKED = ["community_police", "floating_population_office", "property_company", "developer"];

function partyChips(linkage) {
  return h("div", { class: "chips" }, LINKED.map((party) => {
    const state = (linkage.parties || {})[party] || { status: "awaiting" };
    return partyChip(party, state.status, state.overdue && !state.done);
  }));
}

function hukou(local) {
  return local ? t("linkage.local") : t("linkage.non_local");
}

// --- the list: the daily five-party review ------------------------------------------------------

async function linkages(ctx) {
  const q = ctx.query;
  const status = q.status === undefined ? "open" : q.status;
  const filterNode = filters(ctx, "linkage-filters", [
    field("status", t("common.status"), select([["open", word("status", "open")], ["closed", word("status", "closed")],
                                                 ["all", t("common.any")]], { value: status })),
    field("party", t("common.party"), select([["", t("common.any")]].concat(LINKED.map((p) => [p, word("party", p)])), { value: q.party })),
    field("overdue", t("common.only_overdue"), checkbox({ "data-only": true, checked: q.overdue === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/returnees", {
    status: status === "all" ? "" : status, party: q.party, overdue: q.overdue }, filterNode);
  const columns = [
    { label: t("person.name"), cell: (l) => h("a", { href: "#/linkages/" + encodeURIComponent(l.id) }, l.name) },
    { label: t("person.id_masked"), cell: (l) => h("span", { class: "mono" }, l.id_masked) },
    { label: t("person.flat"), cell: (l) => flat(l.address) },
    { label: t("linkage.hukou"), cell: (l) => hukou(l.local_hukou) },
    { label: t("linkage.registered_at"), cell: (l) => fmtTime(l.registered_at) },
    { label: t("linkage.parties"), cell: partyChips },
    { label: t("common.status"), cell: (l) => [chip(l.status), (l.overdue || []).length ? chip("overdue") : null,
                                                 l.mismatch ? chip("mismatch") : null] },
  ];
  return screen(t("nav.linkages"), [
    ctx.can("returnees:register") ? button(t("nav.register"), () => ctx.go("/linkages/new"), { kind: "primary", action: "new-registration" }) : null,
    refreshButton(ctx)],
  filterNode,
  table(columns, result.items, { class: "linkages", onRow: (l) => ctx.go("/linkages/" + encodeURIComponent(l.id)) }),
  pagerFor(ctx, result));
}

// --- registering a returnee ---------------------------------------------------------------------------

function registerForm(ctx) {
  const key = { value: api.idempotencyKey() };
  const node = form("register", [
    h("div", { class: "grid" },
      field("name", t("person.name"), input({ autocomplete: "off" })),
      field("id_number", t("person.id_number"), input({ class: "mono", maxlength: 18 }), t("person.id_number_hint")),
      field("phone", t("person.phone"), input({ inputmode: "tel" }))),
    h("fieldset", {}, h("legend", {}, t("person.flat")),
      h("div", { class: "grid" },
        field("address.building", t("address.building"), input()),
        field("address.unit", t("address.unit"), input()),
        field("address.room", t("address.room"), input()))),
    h("div", { class: "grid" },
      field("origin", t("person.origin"), input(), t("person.origin_hint")),
      field("arrival_date", t("person.arrival_date"), input({ type: "date", max: isoDay(new Date()) })),
      field("local_hukou", t("linkage.hukou"), select([["", t("common.choose")], ["true", t("linkage.local")],
                                                       ["false", t("linkage.non_local")]], { "data-type": "bool" }))),
  ], [button(t("linkage.register_submit"), null, { type: "submit", kind: "primary", action: "register" })],
  (formNode) => submit(formNode, () => api.call("POST", "/api/v1/returnees", {
    json: formValues(formNode), headers: { "Idempotency-Key": key.value } }),
  (answer) => {
    key.value = api.idempotencyKey();
    notify(t("linkage.registered", { name: answer.data.name }));
    ctx.go("/linkages/" + encodeURIComponent(answer.data.id));
  }));
  return screen(t("nav.register"), [], h("p", { class: "lead" }, t("linkage.register_lead")), node);
}

// --- one linkage ----------------------------------------------------------------------------------------

function linkageTimeline(l) {
  const events = [{ at: l.registered_at, party: "neighborhood_committee", action: "registered",
                    label: t("linkage.event_registered"), by: l.registered_by }];
  for (const party of LINKED) {
    const state = (l.parties || {})[party];
    if (!state) continue;
    if (state.acknowledged_at) events.push({ at: state.acknowledged_at, party, action: "acknowledged", label: t("linkage.event_acknowledged") });
    if (state.done_at) events.push({ at: state.done_at, party, action: "done", label: t("linkage.event_done", { status: word("status", state.status) }) });
    if (state.overdue_at) events.push({ at: state.overdue_at, party, action: "overdue", label: t("linkage.event_overdue") });
  }
  if (l.dispatched_at) events.push({ at: l.dispatched_at, action: "dispatched", label: t("linkage.event_dispatched") });
  for (const c of l.corrections || []) {
    events.push({ at: c.at, party: "neighborhood_committee", action: "corrected", by: c.by, note: c.reason,
                  label: t("linkage.event_corrected", { fields: (c.fields || []).map((name) => word("correctable", name)).join(t("common.list_separator")) }) });
  }
  if (l.erasure) {
    events.push({ at: l.erasure.requested_at, party: "neighborhood_committee", action: "erasure-requested", by: l.erasure.requested_by,
                  note: l.erasure.reason, label: t("linkage.event_erasure_requested") });
    for (const [party, state] of Object.entries(l.erasure.parties || {})) {
      if (state.at && party !== "neighborhood_committee") {
        events.push({ at: state.at, party, action: "erasure-answered", note: state.hold_reason,
                      label: t("linkage.event_erasure_answered", { status: word("erasure_status", state.status) }) });
      }
    }
  }
  if (l.closed_at) events.push({ at: l.closed_at, action: "closed", label: t("linkage.event_closed") });
  return timeline(events);
}

async function linkage(ctx) {
  const l = await api.get("/api/v1/returnees/" + encodeURIComponent(ctx.params.id));
  const parties = table([
    { label: t("common.party"), cell: (p) => word("party", p.party) },
    { label: t("common.status"), cell: (p) => [partyChip(p.party, p.status, p.overdue && !p.done),
                                                p.overdue && !p.done ? chip("overdue") : null] },
    { label: t("linkage.due_at"), cell: (p) => fmtTime(p.due_at) },
    { label: t("linkage.acknowledged_at"), cell: (p) => fmtTime(p.acknowledged_at) },
    { label: t("linkage.done_at"), cell: (p) => fmtTime(p.done_at) },
  ], LINKED.map((party) => ({ id: party, party, ...((l.parties || {})[party] || { status: "awaiting" }) })), { class: "parties" });
  return screen(l.name, [chip(l.status, { big: true }), l.mismatch ? chip("mismatch") : null,
    traceButton(ctx, l.id), refreshButton(ctx)],
    h("div", { class: "columns" },
      h("div", {},
        panel(t("linkage.person"), facts([
          [t("person.id_number"), h("span", { class: "mono" }, l.id_number)],
          [t("person.phone"), l.phone],
          [t("person.flat"), flat(l.address)],
          [t("person.origin"), l.origin],
          [t("person.arrival_date"), fmtDate(l.arrival_date)],
          [t("linkage.hukou"), hukou(l.local_hukou)],
          [t("linkage.registered_at"), fmtTime(l.registered_at) + (l.registered_by ? " · " + l.registered_by : "")],
          [t("linkage.closed_at"), fmtTime(l.closed_at)],
        ])),
        panel(t("linkage.parties"), parties),
        rightsActions(ctx, l),
        l.erasure ? erasurePanel(l) : null,
        (l.corrections || []).length ? correctionsPanel(l) : null),
      h("div", {}, panel(t("linkage.timeline"), linkageTimeline(l)))));
}

// --- a flat's tenants (the floating-population office's tenancies, masked) ---------------------------

async function flatTenants(ctx) {
  const text = (ctx.query.flat || "").trim();
  const box = input({ type: "search", value: text, class: "big-input", placeholder: t("flat_tenants.placeholder"),
                      "aria-label": t("flat_tenants.prompt") });
  const node = form("flat-tenants", [field("flat", t("flat_tenants.prompt"), box)],
    [button(t("common.search"), null, { type: "submit", kind: "primary", action: "search" })],
    () => ctx.go(ctx.path, { flat: box.value.trim() }));
  if (!text) return screen(t("nav.flat_tenants"), [], h("p", { class: "lead" }, t("flat_tenants.lead")), node,
    h("p", { class: "muted big-hint" }, t("flat_tenants.empty_prompt")));
  const result = await page(ctx, "/api/v1/tenants", { flat: text }, node);
  const columns = [
    { label: t("person.name"), cell: (x) => h("strong", {}, x.name) },
    { label: t("person.id_masked"), cell: (x) => h("span", { class: "mono" }, x.id_masked) },
    { label: t("person.flat"), cell: (x) => x.flat_id },
    { label: t("flat_tenants.since"), cell: (x) => fmtDate(x.start_date) },
    // the police's check and the property company's access, as the briefing counts them
    { label: t("flat_tenants.parties"), cell: (x) => h("div", { class: "chips" },
      Object.entries(x.parties || {}).map(([party, task]) => partyChip(party, task.status, task.overdue && !task.done))) },
    { label: t("common.status"), cell: (x) => [chip(x.status),
                                                 x.ended_on ? h("small", { class: "block" }, fmtDate(x.ended_on)) : null] },
  ];
  return screen(t("nav.flat_tenants"), [refreshButton(ctx)], h("p", { class: "lead" }, t("flat_tenants.lead")), node,
    table(columns, result.items, { class: "flat-tenants" }), pagerFor(ctx, result));
}

export const routes = [
  { path: "/linkages", nav: "nav.linkages", permission: "returnees:read", render: linkages },
  { path: "/linkages/new", nav: "nav.register", permission: "returnees:register", render: registerForm },
  { path: "/linkages/:id", permission: "returnees:read", parent: "/linkages", title: "linkage.title", render: linkage },
  { path: "/tenants", nav: "nav.flat_tenants", permission: "tenants:read", render: flatTenants },
  ...committeeCaseRoutes(),
  { path: "/households", nav: "nav.registry", permission: "households:read", render: registry },
  ...committeeBriefingRoutes(),
  ...personRightsRoutes(),
  ...traceRoutes(),
];
