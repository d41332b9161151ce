// The developer: its case desk first, the relocation-housing allocations
// (one by one, or a CSV of many: the server imports all rows or none and
// names each bad row), the housing checks it made for the linkage, the
// handovers of flats, and the warranty desk (js/housing.js).
import { ownBriefingRoutes } from "../briefings.js";
import * as api from "../api.js";
import { t, word } from "../i18n.js";
import { filters, page, pagerFor } from "../lists.js";
import { deskRoutes, refreshButton } from "../cases.js";
import { handovers, warrantyCases } from "../housing.js";
import {
  button, checkbox, chip, field, flat, fmtTime, form, formValues, h, input, notify, panel, screen, select, submit,
  table, textarea,
} from "../ui.js";

// The CSV import, as the developer's service serves it (the issue named it
// POST /api/v1/allocations/import).
const IMPORT_PATH = "/api/v1/allocation-imports";
const RESULTS = ["matched", "allocated_to_other", "unknown_flat", "not_handed_over"];

function allocationForm(ctx) {
  const node = form("allocation", [
    h("div", { class: "grid" },
      field("building", t("address.building"), input()),
      field("unit", t("address.unit"), input()),
      field("room", t("address.room"), input())),
    field("household", t("allocation.household"), textarea({ rows: 3, "data-type": "lines" }), t("allocation.household_hint")),
    field("handed_over", t("allocation.handed_over"), checkbox({ checked: true })),
  ], [button(t("allocation.save"), null, { type: "submit", kind: "primary", action: "save-allocation" })],
  (formNode) => submit(formNode, () => api.call("POST", "/api/v1/allocations", { json: formValues(formNode) }),
    (answer) => {
      notify(t(answer.status === 201 ? "allocation.created" : "allocation.updated", { flat: flat(answer.data) }));
      ctx.refresh();
    }));
  return node;
}

function importForm(ctx) {
  const file = h("input", { type: "file", accept: ".csv,text/csv", name: "csv" });
  const rowErrors = h("div", { class: "import-errors" });
  const node = form("allocation-import", [
    field("csv", t("allocation.csv_file"), file, t("allocation.csv_hint")),
    rowErrors,
  ], [button(t("allocation.import"), null, { type: "submit", kind: "primary", action: "import-allocations" })],
  async (formNode) => {
    rowErrors.replaceChildren();
    if (!file.files.length) {
      notify(t("allocation.choose_file"), "error");
      return;
    }
    const text = await file.files[0].text();
    try {
      await submit(formNode, () => api.call("POST", IMPORT_PATH, { text, contentType: "text/csv" }),
        (answer) => {
          notify(t("allocation.imported", answer.data));
          ctx.refresh();
        });
    } finally {
      const errors = Array.from(formNode.querySelectorAll(".form-errors li"));
      if (errors.length) {
        // A refused import names each bad row; nothing was imported.
        rowErrors.replaceChildren(h("p", { class: "error-lead" }, t("allocation.import_refused", { count: errors.length })));
      }
    }
  });
  return node;
}

async function allocations(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "allocation-filters", [
    field("building", t("address.building"), input({ value: q.building, size: 6 })),
  ]);
  const result = await page(ctx, "/api/v1/allocations", { building: q.building }, filterNode);
  const columns = [
    { label: t("person.flat"), cell: (a) => h("strong", {}, flat(a)) },
    { label: t("allocation.household"), class: "wide", cell: (a) => (a.household || []).join(t("common.list_separator")) },
    { label: t("allocation.handed_over"), cell: (a) => chip(a.handed_over ? "handed_over" : "not_handed_over") },
    { label: t("allocation.updated_at"), cell: (a) => fmtTime(a.updated_at) },
  ];
  const canWrite = ctx.can("allocations:write");
  return screen(t("nav.allocations"), [refreshButton(ctx)],
    filterNode, table(columns, result.items, { class: "allocations" }), pagerFor(ctx, result),
    canWrite ? h("div", { class: "columns" },
      panel(t("allocation.new"), allocationForm(ctx)),
      panel(t("allocation.import_title"), importForm(ctx))) : null);
}

async function housingChecks(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "housing-check-filters", [
    field("result", t("housing.result"), select([["", t("common.any")]].concat(RESULTS.map((r) => [r, word("status", r)])), { value: q.result })),
    field("mismatch", t("housing.only_mismatch"), checkbox({ "data-only": true, checked: q.mismatch === "true" })),
  ]);
  const result = await page(ctx, "/api/v1/housing-checks", { result: q.result, mismatch: q.mismatch }, filterNode);
  const columns = [
    { label: t("person.name"), cell: (c) => h("strong", {}, c.name) },
    { label: t("person.id_masked"), cell: (c) => h("span", { class: "mono" }, c.id_masked) },
    { label: t("person.flat"), cell: (c) => flat(c.address) },
    { label: t("housing.result"), cell: (c) => [chip(c.result), c.mismatch ? chip("mismatch") : null, c.overdue ? chip("overdue") : null] },
    { label: t("housing.checked_at"), cell: (c) => fmtTime(c.checked_at) },
  ];
  return screen(t("nav.housing_checks"), [refreshButton(ctx)], filterNode,
    table(columns, result.items, { class: "housing-checks" }), pagerFor(ctx, result));
}

const [queue, ...moreDesk] = deskRoutes();

export const routes = [
  queue,
  { path: "/allocations", nav: "nav.allocations", permission: "allocations:read", render: allocations },
  { path: "/housing-checks", nav: "nav.housing_checks", permission: "housing_checks:read", render: housingChecks },
  { path: "/handovers", nav: "nav.handovers", permission: "handovers:read", render: handovers },
  { path: "/warranty-cases", nav: "nav.warranty_cases", permission: "warranty:read", render: warrantyCases },
  ...moreDesk,
  ...ownBriefingRoutes(),
];
