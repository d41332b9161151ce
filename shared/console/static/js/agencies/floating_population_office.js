// The floating-population office: its registrations of non-local residents
// (full identity; the server audits every read), then its case desk.
import { ownBriefingRoutes } from "../briefings.js";
import { t, word } from "../i18n.js";
import { filters, page, pagerFor } from "../lists.js";
import { deskRoutes, refreshButton } from "../cases.js";
import { checkbox, chip, field, flat, fmtDate, fmtTime, h, screen, select, table } from "../ui.js";

async function registrations(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "registration-filters", [
    field("status", t("common.status"), select([["", t("common.any")], ["registered", word("status", "registered")],
                                                 ["departed", word("status", "departed")]], { value: q.status })),
  ]);
  const result = await page(ctx, "/api/v1/registrations", { status: q.status }, filterNode);
  const columns = [
    { label: t("person.name"), cell: (r) => h("strong", {}, r.name) },
    { label: t("person.id_number"), cell: (r) => h("span", { class: "mono" }, r.id_number) },
    { label: t("person.phone"), cell: (r) => r.phone },
    { label: t("person.origin"), cell: (r) => r.origin },
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

export const routes = [
  { path: "/registrations", nav: "nav.registrations", permission: "registrations:read", render: registrations },
  ...deskRoutes(),
  ...ownBriefingRoutes(),
];
