// The floating-population office: its registrations of non-local residents
// (full identity; the server audits every read), its tenancies (the list with
// each tenant's police and property chips, and the form), then its case desk.
import * as api from "../api.js";
import { ownBriefingRoutes } from "../briefings.js";
import { t, word } from "../i18n.js";
import { filters, page, pagerFor } from "../lists.js";
import { deskRoutes, refreshButton } from "../cases.js";
import {
  button, checkbox, chip, field, flat, fmtDate, fmtTime, form, formValues, h, input, isoDay, notify, panel,
  partyChip, screen, select, submit, table,
} from "../ui.js";

const TENANT_PARTIES = ["community_police", "property_company"];

async function registrations(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "registration-filters", [
    field("status", t("common.status"), select([["", t("common.any")], ["registered", word("status", "registered")],
                                                 ["departed", word("status", "departed")]], { value: q.status })),
    field("kind", t("tenancy.kind"), select([["", t("common.any")], ["returnee", word("kind", "returnee")],
                                              ["tenant", word("kind", "tenant")]], { value: q.kind })),
    field("permit_eligible", t("tenancy.permit_eligible"), checkbox({ "data-only": true, checked: q.permit_eligible === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/registrations",
    { status: q.status, kind: q.kind, permit_eligible: q.permit_eligible }, filterNode);
  const columns = [
    { label: t("person.name"), cell: (r) => h("strong", {}, r.name) },
    { label: t("person.id_number"), cell: (r) => h("span", { class: "mono" }, r.id_number) },
    { label: t("person.phone"), cell: (r) => r.phone },
    { label: t("tenancy.kind"), cell: (r) => word("kind", r.kind) },
    { label: t("person.origin"), cell: (r) => r.origin || "" },
    { label: t("person.flat"), cell: (r) => flat(r.address) },
    { label: t("person.arrival_date"), cell: (r) => fmtDate(r.arrival_date) },
    { label: t("registration.recorded_at"), cell: (r) => fmtTime(r.recorded_at) },
    { label: t("common.status"), cell: (r) => [chip(r.status), r.overdue ? chip("overdue") : null] },
    { label: t("registration.number"), cell: (r) => h("span", { class: "mono" }, r.id) },
  ];
  return screen(t("nav.registrations"), [refreshButton(ctx)],
    h("p", { class: "lead" }, t("registration.audited")),
    filterNode, table(columns, result.items, { class: "registrations" }), pagerFor(ctx, result));
}

// --- tenancies -------------------------------------------------------------------------

function tenantRow(n) {
  const prefix = "tenants." + n + ".";
  return h("fieldset", { class: "tenant-row", "data-tenant": String(n) },
    h("legend", {}, t("tenancy.tenant", { n: n + 1 })),
    h("div", { class: "grid" },
      field(prefix + "name", t("person.name"), input()),
      field(prefix + "id_number", t("person.id_number"), input({ class: "mono", maxlength: 18 })),
      field(prefix + "phone", t("person.phone"), input({ inputmode: "numeric" })),
      field(prefix + "local_hukou", t("tenancy.local_hukou"), checkbox())));
}

// The form's values with its tenant rows as the list the API takes (a row
// left blank is left out; the server names what a half-filled one lacks).
function tenancyValues(node) {
  const values = formValues(node);
  const rows = values.tenants || {};
  values.tenants = Object.keys(rows).sort((a, b) => a - b).map((n) => rows[n])
    .filter((row) => row.name || row.id_number || row.phone);
  const parts = /^\s*([^-\s]+)\s*-\s*([^-\s]+)\s*-\s*([^-\s]+)\s*$/.exec(values.flat_text || "");
  if (parts) values.flat = { building: parts[1], unit: parts[2], room: parts[3] };
  else if (values.flat_text) values.flat = values.flat_text;
  delete values.flat_text;
  return values;
}

async function newTenancy(ctx) {
  const key = api.idempotencyKey();  // a retried submit registers the tenancy once
  const rows = h("div", { class: "tenant-rows" }, tenantRow(0));
  const node = form("tenancy", [
    h("div", { class: "grid" },
      field("flat", t("tenancy.flat_id"), input({ name: "flat_text", placeholder: "7-1-502" })),
      field("landlord", t("tenancy.landlord"), input()),
      field("rooms", t("tenancy.rooms"), input({ type: "number", min: 1, max: 20, "data-type": "int", value: "1" })),
      field("start_date", t("tenancy.start_date"), input({ type: "date", value: isoDay(new Date()) })),
      field("end_date", t("tenancy.end_date"), input({ type: "date" }))),
    h("div", { class: "field", "data-field": "tenants" },
      h("p", { class: "field-error", "data-error-for": "tenants", role: "alert" })),
    rows,
    button(t("tenancy.add_tenant"), () => rows.append(tenantRow(rows.children.length)),
      { action: "add-tenant", kind: "ghost" }),
  ], [button(t("tenancy.submit"), null, { type: "submit", kind: "primary", action: "register-tenancy" })],
  (formNode) => submit(formNode, () => api.post("/api/v1/tenancies", tenancyValues(formNode),
    { "Idempotency-Key": key }), (tenancy) => {
    notify(t("tenancy.registered", { flat: tenancy.flat_id }), "ok",
      tenancy.group_rental_case_id ? t("tenancy.group_rental") : "");
    ctx.go("/tenancies", { flat: tenancy.flat_id });
  }));
  return screen(t("nav.tenancy_new"), [], h("p", { class: "lead" }, t("tenancy.lead")), panel("", node));
}

function endButton(ctx, tenancy) {
  return button(t("tenancy.end"), async () => {
    try {
      const ended = await api.post("/api/v1/tenancies/" + encodeURIComponent(tenancy.id) + "/end", {});
      notify(t("tenancy.ended", { flat: ended.flat_id }));
      ctx.refresh();
    } catch (error) {
      if (!(error instanceof api.ApiError)) throw error;
      notify(error.problem.detail || String(error), "error");
    }
  }, { action: "end-tenancy", kind: "danger" });
}

function tenantsCell(tenancy) {
  return h("ul", { class: "tenants" }, tenancy.tenants.map((tenant) =>
    h("li", { "data-tenant": tenant.id },
      h("strong", {}, tenant.name), " ", h("span", { class: "mono" }, tenant.id_number), " ", tenant.phone, " ",
      h("small", {}, tenant.local_hukou ? t("linkage.local") : t("linkage.non_local")), " ",
      TENANT_PARTIES.map((party) => partyChip(party, tenant.parties[party].status, tenant.parties[party].overdue
        && !tenant.parties[party].done)))));
}

async function tenancies(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "tenancy-filters", [
    field("flat", t("tenancy.flat_id"), input({ value: q.flat, size: 10 })),
    field("status", t("common.status"), select([["", t("common.any")], ["active", word("status", "active")],
                                                 ["ended", word("status", "ended")]], { value: q.status })),
    field("overdue", t("common.only_overdue"), checkbox({ "data-only": true, checked: q.overdue === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/tenancies", { flat: q.flat, status: q.status, overdue: q.overdue }, filterNode);
  const columns = [
    { label: t("person.flat"), cell: (x) => h("strong", {}, x.flat_id) },
    { label: t("tenancy.landlord"), cell: (x) => x.landlord },
    { label: t("tenancy.rooms"), class: "num", cell: (x) => x.rooms },
    { label: t("tenancy.start_date"), cell: (x) => [fmtDate(x.start_date), x.end_date ? " – " + fmtDate(x.end_date) : ""] },
    { label: t("tenancy.tenants"), class: "wide", cell: tenantsCell },
    { label: t("common.status"), cell: (x) => [chip(x.status), x.registered_late ? chip("late") : null,
                                                 x.group_rental_case_id ? chip("group_rental") : null,
                                                 x.ended_on ? h("small", { class: "block" }, t("tenancy.ended_on") + " " + fmtDate(x.ended_on)) : null] },
    { label: t("tenancy.checks"), cell: (x) => chip(x.checks) },
    { label: t("common.actions"), cell: (x) => (x.status === "active" && ctx.can("tenancies:write") ? endButton(ctx, x) : "") },
  ];
  return screen(t("nav.tenancies"), [refreshButton(ctx),
    ctx.can("tenancies:write") ? button(t("nav.tenancy_new"), () => ctx.go("/tenancies/new"), { kind: "primary", action: "new-tenancy" }) : null],
  h("p", { class: "lead" }, t("tenancy.audited")),
  filterNode, table(columns, result.items, { class: "tenancies" }), pagerFor(ctx, result));
}

export const routes = [
  { path: "/registrations", nav: "nav.registrations", permission: "registrations:read", render: registrations },
  { path: "/tenancies", nav: "nav.tenancies", permission: "tenancies:read", render: tenancies },
  { path: "/tenancies/new", nav: "nav.tenancy_new", permission: "tenancies:write", render: newTenancy },
  ...deskRoutes(),
  ...ownBriefingRoutes(),
];
