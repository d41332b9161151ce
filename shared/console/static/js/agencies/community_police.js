// The community police: the queue of identity checks still pending, with
// the full identity (the server audits every read) and clear / flag.
import { ownBriefingRoutes } from "../briefings.js";
import * as api from "../api.js";
import { t, word } from "../i18n.js";
import { filters, page, pagerFor } from "../lists.js";
import { deskRoutes, refreshButton } from "../cases.js";
import {
  button, checkbox, chip, field, flat, fmtDate, fmtTime, form, h, input, notify, screen, select, submit, table,
} from "../ui.js";

function decisionForm(ctx, check) {
  const note = input({ placeholder: t("check.note_placeholder") });
  return form("decision", [field("note", t("common.note"), note)], [
    button(t("check.clear"), null, { type: "submit", kind: "primary", action: "clear" }),
    button(t("check.flag"), null, { type: "submit", kind: "danger", action: "flag" }),
  ], (node, submitter) => {
    const outcome = submitter && submitter.dataset.action === "flag" ? "flagged" : "cleared";
    return submit(node, () => api.post("/api/v1/checks/" + encodeURIComponent(check.id) + "/decision",
      { outcome, note: note.value }),
    () => {
      notify(t(outcome === "cleared" ? "check.done_cleared" : "check.done_flagged", { name: check.name }));
      ctx.refresh();
    });
  });
}

async function checks(ctx) {
  const q = ctx.query;
  const status = q.status === undefined ? "pending" : q.status;
  const filterNode = filters(ctx, "check-filters", [
    field("status", t("common.status"), select([["pending", word("status", "pending")], ["cleared", word("status", "cleared")],
                                                 ["flagged", word("status", "flagged")], ["all", t("common.any")]], { value: status })),
    field("overdue", t("common.only_overdue"), checkbox({ "data-only": true, checked: q.overdue === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/checks", { status: status === "all" ? "" : status, overdue: q.overdue }, filterNode);
  const columns = [
    { label: t("person.name"), cell: (c) => [h("strong", {}, c.name), " ",
                                              c.kind === "tenant" ? chip("tenant", { group: "kind", tone: "neutral" }) : null] },
    { label: t("person.id_number"), cell: (c) => h("span", { class: "mono" }, c.id_number) },
    { label: t("person.phone"), cell: (c) => c.phone },
    { label: t("person.flat"), cell: (c) => flat(c.address) },
    { label: t("person.origin"), cell: (c) => [c.origin || "", h("br"), h("small", {}, c.local_hukou ? t("linkage.local") : t("linkage.non_local"))] },
    { label: t("person.arrival_date"), cell: (c) => fmtDate(c.arrival_date) },
    { label: t("check.opened_at"), cell: (c) => fmtTime(c.opened_at) },
    { label: t("common.status"), cell: (c) => [chip(c.status), c.overdue && c.status === "pending" ? chip("overdue") : null,
                                                 c.decided_by ? h("small", { class: "block" }, c.decided_by + " · " + fmtTime(c.decided_at)) : null,
                                                 c.note ? h("small", { class: "block" }, c.note) : null] },
    { label: t("check.decision"), class: "wide", cell: (c) => (c.status === "pending" && ctx.can("checks:decide") ? decisionForm(ctx, c) : "") },
  ];
  return screen(t("nav.checks"), [refreshButton(ctx)],
    h("p", { class: "lead" }, t("check.audited")),
    filterNode, table(columns, result.items, { class: "checks" }), pagerFor(ctx, result));
}

export const routes = [
  { path: "/checks", nav: "nav.checks", permission: "checks:read", render: checks },
  ...deskRoutes(),
  ...ownBriefingRoutes(),
];
