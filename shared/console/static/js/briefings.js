// The daily briefing and the monthly joint-meeting report.
//
// The committee: the briefings made (newest first), making a missed day's
// by hand, one briefing as the page the committee prints for the meeting,
// and the month's report with its two charts. Those two pages are the
// server's own print views (GET .../print, Chinese, laid out for A4),
// fetched with the user's token and shown in place: the console adds no
// second layout of them, and "print" prints just that page.
//
// Every other party: its own part of the latest briefing (GET
// /api/v1/briefings/latest), what the committee sent it and nothing else.
import * as api from "./api.js";
import { t, word } from "./i18n.js";
import { filters, page, pagerFor } from "./lists.js";
import { refreshButton } from "./cases.js";
import {
  button, facts, field, fmtDate, fmtTime, form, h, input, isoDay, notify, panel, percent, screen, submit, table,
} from "./ui.js";

const RATES = ["response_rate", "on_time_rate", "resolution_rate", "satisfaction_rate"];

function hours(seconds) {
  const value = seconds / 3600;
  return value < 48 ? t("briefing.hours", { n: value.toFixed(1) }) : t("briefing.days", { n: (value / 24).toFixed(1) });
}

// The server's print view, its body's nodes brought into this page (no
// script in it runs; its values were escaped by the server).
async function printView(path) {
  const answer = await api.call("GET", path, { headers: { Accept: "text/html" } });
  // Its own <style> is for printing it on its own; here the console's CSS
  // lays it out (and the console's CSP refuses inline styles, even parsed).
  const html = answer.data.replace(/<style[\s\S]*?<\/style>/gi, "");
  const parsed = new DOMParser().parseFromString(html, "text/html");
  // One level down: the screen's own title is the page's h1.
  for (const [from, to] of [["h2", "h3"], ["h1", "h2"]]) {
    parsed.body.querySelectorAll(from).forEach((node) => {
      const heading = parsed.createElement(to);
      heading.replaceChildren(...node.childNodes);
      node.replaceWith(heading);
    });
  }
  const holder = h("div", { class: "print-view", "data-print": "yes" });
  holder.replaceChildren(...Array.from(parsed.body.childNodes).map((node) => document.importNode(node, true)));
  return holder;
}

function printButton() {
  return button(t("briefing.print"), () => window.print(), { action: "print", kind: "primary" });
}

// --- the committee ---------------------------------------------------------------------------

function makeForm(ctx) {
  const day = input({ type: "date", value: isoDay(new Date()) });
  return form("make-briefing", [field("date", t("briefing.date"), day)], [
    button(t("briefing.make"), null, { type: "submit", action: "make-briefing" }),
  ], (node) => submit(node, () => api.call("POST", "/api/v1/briefings", { json: { date: day.value } }),
    (answer) => {
      notify(t(answer.status === 201 ? "briefing.made" : "briefing.was_made", { date: answer.data.date }));
      ctx.go("/briefings/" + answer.data.date);
    }));
}

async function briefingList(ctx) {
  const q = ctx.query;
  const filterNode = filters(ctx, "briefing-filters", [
    field("from", t("kpi.from"), input({ type: "date", value: q.from })),
    field("to", t("kpi.to"), input({ type: "date", value: q.to })),
  ]);
  const result = await page(ctx, "/api/v1/briefings", { from: q.from, to: q.to }, filterNode);
  const rows = result.items.map((item) => ({ ...item, id: item.date }));
  const columns = [
    { label: t("briefing.date"), cell: (b) => h("a", { href: "#/briefings/" + b.date }, fmtDate(b.date)) },
    { label: t("briefing.generated_at"), cell: (b) => fmtTime(b.generated_at) },
    { label: t("briefing.generated_by"), cell: (b) => (b.generated_by === "timer" ? t("briefing.by_timer") : b.generated_by) },
    { label: t("briefing.intake"), cell: (b) => Object.entries(b.intake).map(([name, n]) => word("intake", name) + " " + n).join("，") },
    { label: t("briefing.overdue"), class: "num", cell: (b) => b.overdue },
    { label: t("briefing.red"), class: "num", cell: (b) => b.red },
    { label: t("briefing.decisions"), class: "num", cell: (b) => b.decisions },
  ];
  return screen(t("nav.briefings"), [refreshButton(ctx)],
    ctx.can("briefings:generate") ? panel(t("briefing.make_title"), h("p", { class: "lead" }, t("briefing.make_lead")), makeForm(ctx)) : null,
    filterNode,
    table(columns, rows, { class: "briefings", onRow: (b) => ctx.go("/briefings/" + b.date) }),
    pagerFor(ctx, result));
}

async function briefingPage(ctx) {
  const day = ctx.params.date;
  return screen(t("briefing.title", { date: fmtDate(day) }), [printButton(), refreshButton(ctx)],
    await printView("/api/v1/briefings/" + encodeURIComponent(day) + "/print"));
}

function thisMonth() {
  return isoDay(new Date()).slice(0, 7);
}

async function monthly(ctx) {
  const month = ctx.query.month || thisMonth();
  const filterNode = filters(ctx, "month-filters", [
    field("month", t("briefing.month"), input({ type: "month", value: month })),
  ]);
  return screen(t("nav.monthly"), [printButton(), refreshButton(ctx)], filterNode,
    await printView("/api/v1/reports/monthly/" + encodeURIComponent(month) + "/print"));
}

export function committeeBriefingRoutes() {
  return [
    { path: "/briefings", nav: "nav.briefings", permission: "briefings:read", render: briefingList },
    { path: "/briefings/:date", permission: "briefings:read", parent: "/briefings", title: "nav.briefings", render: briefingPage },
    { path: "/reports/monthly", nav: "nav.monthly", permission: "reports:read", render: monthly },
  ];
}

// --- a party's own part --------------------------------------------------------------------------

function what(item) {
  if (item.name) return [h("strong", {}, item.name), " ", h("span", { class: "mono" }, item.id_masked), " ", item.flat];
  return [word("category", item.category), " · ", item.location];
}

async function ownBriefing(ctx) {
  let part;
  try {
    part = await api.get("/api/v1/briefings/latest");
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404) {
      return screen(t("nav.briefing"), [refreshButton(ctx)], h("p", { class: "empty", "data-empty": "briefing" }, t("briefing.none")));
    }
    throw error;
  }
  const counts = part.counts;
  const overdueColumns = [
    { label: t("briefing.item"), cell: what },
    { label: t("briefing.source"), cell: (item) => word("intake", item.source) },
    { label: t("briefing.due_at"), cell: (item) => fmtTime(item.due_at) },
    { label: t("briefing.late_by"), class: "num", cell: (item) => h("strong", { class: "late" }, hours(item.late_seconds)) },
  ];
  const kpiRows = Object.entries(part.kpis).map(([window, section]) => ({ id: window, window, ...section.party }));
  return screen(t("briefing.own_title", { date: fmtDate(part.briefing_date) }), [refreshButton(ctx)],
    h("p", { class: "lead" }, t("briefing.own_lead", { time: fmtTime(part.generated_at) })),
    panel(t("briefing.counts"), facts([
      [t("briefing.received"), counts.received], [t("briefing.acknowledged"), counts.acknowledged],
      [t("briefing.done"), counts.done], [t("briefing.returned"), counts.returned],
      [t("briefing.overdue"), counts.overdue_count]])),
    panel(t("briefing.overdue_items"), table(overdueColumns, part.overdue.map((item) => ({ ...item, id: item.id + item.due_kind })),
      { class: "briefing-overdue" })),
    panel(t("briefing.red_items"), table([
      { label: t("briefing.kind"), cell: (item) => word("red_kind", item.kind) },
      { label: t("briefing.item"), cell: what },
      { label: t("common.note"), cell: (item) => (item.kind === "overdue" ? hours(item.late_seconds) : word("status", item.detail)) },
    ], part.red, { class: "briefing-red" })),
    panel(t("briefing.pending_items"), table([
      { label: t("briefing.item"), cell: what },
      { label: t("common.status"), cell: (item) => word("status", item.status) },
      { label: t("briefing.waited"), class: "num", cell: (item) => t("briefing.hours", { n: item.pending_hours }) },
    ], part.pending, { class: "briefing-pending" })),
    panel(t("briefing.decision_items"), table([
      { label: t("briefing.item"), cell: what },
      { label: t("briefing.to_decide"), cell: (item) => (item.topic ? word("decision_topic", item.topic) : item.reason) },
    ], part.decisions, { class: "briefing-decisions" })),
    panel(t("briefing.kpis"), table([
      { label: t("briefing.window"), cell: (r) => t("briefing." + r.window) },
      ...RATES.map((rate) => ({ label: t("briefing." + rate), class: "num", cell: (r) => percent(r[rate]) })),
      { label: t("briefing.received"), class: "num", cell: (r) => r.received },
    ], kpiRows, { class: "briefing-kpis" })));
}

export function ownBriefingRoutes() {
  return [{ path: "/briefing", nav: "nav.briefing", permission: "briefings:read", render: ownBriefing }];
}
