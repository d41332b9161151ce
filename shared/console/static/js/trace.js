// The committee's trace: search a returnee's or a case's id, then see who
// holds it now, since when and waiting for what, each party's answer
// (or "unreachable"), the dead letters, and the timeline across the five
// parties (GET /api/v1/trace/{id}).
import * as api from "./api.js";
import { t, word } from "./i18n.js";
import { refreshButton } from "./cases.js";
import { button, chip, facts, field, fmtTime, form, formValues, h, input, panel, screen, table } from "./ui.js";

const PARTY_TONES = { answered: "ok", unreachable: "bad" };

function tracePath(id) {
  return "/trace/" + encodeURIComponent(id);
}

export function traceButton(ctx, id) {
  return ctx.can("trace:read")
    ? button(t("trace.open"), () => ctx.go(tracePath(id)), { action: "trace" }) : null;
}

function search(ctx) {
  const node = form("trace-search", [
    field("id", t("trace.id"), input({ class: "mono", autocomplete: "off" }), t("trace.id_hint")),
  ], [button(t("trace.search"), null, { type: "submit", kind: "primary", action: "search-trace" })],
  (formNode) => {
    const id = (formValues(formNode).id || "").trim();
    if (id) ctx.go(tracePath(id));
  });
  return screen(t("nav.trace"), [], h("p", { class: "lead" }, t("trace.lead")), node);
}

function subjectFacts(trace) {
  const s = trace.subject || {};
  const rows = trace.kind === "returnee"
    ? [[t("person.name"), s.name], [t("person.id_masked"), h("span", { class: "mono" }, s.id_masked)],
       [t("person.flat"), s.flat]]
    : [[t("case.category"), word("category", s.category)], [t("case.priority"), word("priority", s.priority)],
       [t("case.location"), s.location], [t("case.reported_by"), word("party", s.reported_by)]];
  return facts(rows.concat([
    [t("trace.kind"), word("trace_kind", trace.kind)],
    [t("trace.opened_at"), fmtTime(s.opened_at)],
    [t("trace.closed_at"), fmtTime(s.closed_at)],
  ]));
}

function holdingPanel(holding) {
  if (!holding.holder) {
    return panel(t("trace.holding"), h("div", { class: "trace-holding", "data-holder": "" },
      h("p", { class: "trace-now" }, t("trace.nobody")), h("p", { class: "muted" }, holding.summary)));
  }
  const first = holding.holders[0];
  const others = holding.holders.slice(1);
  return panel(t("trace.holding"), h("div", { class: "trace-holding", "data-holder": holding.holder },
    h("p", { class: "trace-now" },
      h("span", { class: "chip chip-big chip-" + (first.overdue ? "bad" : "wait"), "data-party": first.party },
        word("party", first.party)),
      " ", t("trace.holds_since", { since: fmtTime(first.since, true) }),
      first.overdue ? [" ", chip("overdue")] : null),
    facts([
      [t("trace.waiting_on"), [word("party", first.waits_on), first.status ? " · " + word("status", first.status) : ""]],
      [t("trace.limit"), first.due_at ? word("limit", first.due_kind) + " · " + fmtTime(first.due_at) : ""],
      [t("trace.waiting_for"), h("span", { class: "trace-waiting" }, first.waiting_for)],
    ]),
    others.length ? h("ul", { class: "trace-also" }, others.map((o) => h("li", { "data-party": o.party },
      t("trace.also", { party: word("party", o.party), since: fmtTime(o.since, true) }), " · ",
      word("status", o.status), " — ", o.waiting_for))) : null,
    h("p", { class: "muted trace-summary" }, holding.summary)));
}

function partiesPanel(trace) {
  return panel(t("trace.parties"), h("div", { class: "chips trace-parties" }, trace.parties.map((p) =>
    h("span", { class: "trace-party chip chip-" + (PARTY_TONES[p.status] || "wait"), "data-party": p.party,
                "data-status": p.status }, word("party_short", p.party) + " · " + word("answer_status", p.status)))));
}

function deadLettersPanel(trace) {
  if (!trace.dead_letters.length) return null;
  return panel(t("trace.dead_letters"), table([
    { label: t("common.party"), cell: (d) => word("party", d.party) },
    { label: t("trace.event"), cell: (d) => h("span", { class: "mono" }, d.event_type) },
    { label: t("trace.reason"), cell: (d) => d.reason },
    { label: t("trace.attempts"), cell: (d) => d.attempts },
    { label: t("trace.error"), class: "wide", cell: (d) => d.error },
  ], trace.dead_letters.map((d) => ({ id: d.event_id, ...d })), { class: "trace-dead-letters" }),
  h("p", { class: "muted" }, t("trace.replay_hint")));
}

function stepLabel(step) {
  if (step.verb) return t("trace.step_" + step.verb, { event: step.event_type });
  return word("trace_action", step.action);
}

function timelinePanel(trace) {
  return panel(t("trace.timeline"), h("ol", { class: "timeline trace-timeline" }, trace.timeline.map((step) =>
    h("li", { "data-party": step.party, "data-source": step.source },
      h("time", { datetime: step.at }, fmtTime(step.at, true)),
      h("span", { class: "timeline-party" }, word("party_short", step.party)),
      h("span", { class: "timeline-action" }, stepLabel(step)),
      step.by ? h("span", { class: "timeline-by" }, step.by) : null,
      step.detail ? h("span", { class: "timeline-note" }, step.detail) : null))));
}

async function traceScreen(ctx) {
  const trace = await api.get("/api/v1/trace/" + encodeURIComponent(ctx.params.id));
  const title = trace.kind === "returnee" ? trace.subject.name : word("category", trace.subject.category);
  return screen(title, [chip(trace.subject.status, { big: true }), refreshButton(ctx)],
    h("div", { class: "trace", "data-kind": trace.kind, "data-id": trace.id },
      holdingPanel(trace.holding),
      h("div", { class: "columns" },
        h("div", {}, panel(t("trace.subject"), subjectFacts(trace)), partiesPanel(trace), deadLettersPanel(trace)),
        h("div", {}, timelinePanel(trace)))));
}

export function traceRoutes() {
  return [
    { path: "/trace", nav: "nav.trace", permission: "trace:read", render: search },
    { path: "/trace/:id", permission: "trace:read", parent: "/trace", title: "trace.title", render: traceScreen },
  ];
}
