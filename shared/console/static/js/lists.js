// What every list screen has: a filter form whose values live in the
// address (#/path?filter=value), the page the API answers, and a pager.
//
// A page is asked for by where the one before it ended (`cursor`: the
// `next` the API handed out), never by how many to skip. The address holds
// it, and `back`: the cursors of the pages before, so Previous, the
// browser's back and forward, a reload and a copied address all show the
// same page. Every page before this one was full (it had a `next`), so this
// one starts after (pages before) x (page size) items.
import * as api from "./api.js";
import { t } from "./i18n.js";
import { button, form, formValues, notify, pager, showErrors } from "./ui.js";

export const PAGE_SIZE = 20;
const SEPARATOR = "."; // never in a cursor (URL-safe base64)

// The page size is the address's `limit` (a view, not a filter: it stays
// when the filters change); a new filter starts at the first page.
function view(ctx) {
  return ctx.query.limit ? { limit: ctx.query.limit } : {};
}

function place(query) {
  if (!query.cursor) return { cursor: undefined, back: [] };
  return { cursor: query.cursor, back: query.back ? query.back.split(SEPARATOR) : [] };
}

function elsewhere(ctx, cursor, back) {
  const rest = { ...ctx.query };
  delete rest.cursor;
  delete rest.back;
  return { ...rest, cursor, back: back.join(SEPARATOR) };
}

// Selects and checkboxes apply at once; text fields on Enter or the button.
export function filters(ctx, name, fields) {
  const node = form(name, fields, [
    button(t("common.search"), null, { type: "submit", action: "search" }),
    button(t("common.clear"), () => ctx.go(ctx.path, view(ctx)), { action: "clear-filters", kind: "ghost" }),
  ], (formNode) => ctx.go(ctx.path, { ...formValues(formNode), ...view(ctx) }));
  node.classList.add("filters");
  node.addEventListener("change", (event) => {
    if (event.target.matches("select, input[type=checkbox]")) node.requestSubmit();
  });
  return node;
}

// The page of `apiPath` for the address's filters and place; a 422 (a
// filter the server refuses) shows beside that filter. A cursor the list
// refuses (an edited or outdated address) leads to its first page.
export async function page(ctx, apiPath, query, filterNode) {
  const wanted = { limit: ctx.query.limit || PAGE_SIZE, cursor: ctx.query.cursor, ...query };
  const none = { items: [], total: 0, total_capped: false, limit: PAGE_SIZE, next: null };
  try {
    return await api.get(apiPath, wanted);
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 422 && error.errors.some((e) => e.field === "cursor")) {
      notify(t("pager.restarted"), "error");
      ctx.replace(ctx.path, elsewhere(ctx, undefined, []));
      return none;
    }
    if (error instanceof api.ApiError && error.status === 422 && filterNode) {
      showErrors(filterNode, error.errors);
      notify(t("error.invalid_filter"), "error", error.problem.detail || "");
      return none;
    }
    throw error;
  }
}

export function pagerFor(ctx, pageInfo) {
  const { cursor, back } = place(ctx.query);
  const before = cursor ? back.length + 1 : 0;
  const previous = before
    ? () => ctx.go(ctx.path, elsewhere(ctx, back[back.length - 1], back.slice(0, -1)))
    : null;
  const next = pageInfo.next
    ? () => ctx.go(ctx.path, elsewhere(ctx, pageInfo.next, cursor ? back.concat(cursor) : []))
    : null;
  return pager(before * pageInfo.limit, pageInfo, previous, next);
}
