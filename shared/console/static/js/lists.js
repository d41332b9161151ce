// What every list screen has: a filter form whose values live in the
// address (#/path?filter=value), the page the API answers, and a pager.
import * as api from "./api.js";
import { t } from "./i18n.js";
import { button, form, formValues, notify, pager, showErrors } from "./ui.js";

export const PAGE_SIZE = 20;

// Selects and checkboxes apply at once; text fields on Enter or the button.
export function filters(ctx, name, fields) {
  const node = form(name, fields, [
    button(t("common.search"), null, { type: "submit", action: "search" }),
    button(t("common.clear"), () => ctx.go(ctx.path, {}), { action: "clear-filters", kind: "ghost" }),
  ], (formNode) => ctx.go(ctx.path, formValues(formNode)));
  node.classList.add("filters");
  node.addEventListener("change", (event) => {
    if (event.target.matches("select, input[type=checkbox]")) node.requestSubmit();
  });
  return node;
}

// The page of `apiPath` for the address's filters and offset; a 422 (a
// filter the server refuses) shows beside that filter.
export async function page(ctx, apiPath, query, filterNode) {
  const wanted = { limit: PAGE_SIZE, offset: ctx.query.offset || 0, ...query };
  try {
    return await api.get(apiPath, wanted);
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 422 && filterNode) {
      showErrors(filterNode, error.errors);
      notify(t("error.invalid_filter"), "error", error.problem.detail || "");
      return { items: [], total: 0, limit: PAGE_SIZE, offset: 0 };
    }
    throw error;
  }
}

export function pagerFor(ctx, pageInfo) {
  return pager(pageInfo, (offset) => ctx.go(ctx.path, { ...ctx.query, offset: offset || "" }));
}
