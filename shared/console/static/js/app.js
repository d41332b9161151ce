// The console's shell: which agency this is (the server wrote it on
// <body data-agency>), sign-in, the menu of the screens the user's
// permissions allow, the language switch, and a hash router
// (#/path?filter=value) so every screen and filter has its own address.
import * as api from "./api.js";
import { languages, lang, onLang, setLang, t, word } from "./i18n.js";
import { button, field, form, h, input, notify, notifyError, submit } from "./ui.js";

const AGENCIES = {
  neighborhood_committee: () => import("./agencies/neighborhood_committee.js"),
  community_police: () => import("./agencies/community_police.js"),
  floating_population_office: () => import("./agencies/floating_population_office.js"),
  property_company: () => import("./agencies/property_company.js"),
  developer: () => import("./agencies/developer.js"),
};

const agency = document.body.dataset.agency;
const root = document.getElementById("app");
let routes = [];
let renders = 0;

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, search] = raw.split("?");
  return { path: path || "/", query: Object.fromEntries(new URLSearchParams(search || "")) };
}

export function hashFor(path, query = {}) {
  const search = new URLSearchParams(
    Object.entries(query).filter(([, value]) => value !== "" && value !== null && value !== undefined)).toString();
  return "#" + path + (search ? "?" + search : "");
}

function go(path, query = {}) {
  const hash = hashFor(path, query);
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

// Another address in place of this one (no history entry to come back to).
function replace(path, query = {}) {
  window.location.replace(hashFor(path, query));
}

function matchRoute(path) {
  const parts = path.split("/").filter(Boolean);
  for (const route of routes) {
    const pattern = route.path.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    const ok = pattern.every((segment, i) => {
      if (segment.startsWith(":")) {
        params[segment.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return segment === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

function allowed(route) {
  return !route.permission || api.session.can(route.permission);
}

function home() {
  return routes.find((route) => route.nav && allowed(route));
}

// --- the frame around every screen ---------------------------------------------

function header(current, active) {
  const other = languages().find((code) => code !== lang());
  return h("header", { class: "top" },
    h("div", { class: "brand" },
      h("span", { class: "brand-app" }, t("app.title")),
      h("span", { class: "brand-agency", "data-agency": agency }, word("party", agency))),
    current ? h("nav", { class: "menu", "aria-label": t("app.menu") },
      routes.filter((route) => route.nav && allowed(route)).map((route) =>
        h("a", { href: "#" + route.path, class: route === active ? "active" : null,
                 "data-nav": route.path }, t(route.nav)))) : h("div", { class: "menu" }),
    h("div", { class: "who" },
      current ? h("span", { class: "who-user", title: (current.roles || []).join(", ") },
        current.user, " · ", (current.roles || []).map((role) => word("role", role)).join(", ")) : null,
      button(t("app.switch_language"), () => setLang(other), { action: "language", kind: "ghost" }),
      current ? button(t("app.sign_out"), signOut, { action: "sign-out", kind: "ghost" }) : null));
}

// The notice of an action shows on the screen the action leads to (a
// refreshed list, the record it made), and goes on the next screen after.
function frame(current, active, content) {
  const earlier = document.getElementById("notice");
  const carried = earlier ? Array.from(earlier.children).filter((node) => !node.dataset.carried) : [];
  carried.forEach((node) => { node.dataset.carried = "yes"; });
  root.replaceChildren(
    header(current, active),
    h("div", { id: "notice", class: "notice-region", role: "status", "aria-live": "polite" }, carried),
    h("main", { id: "main" }, content));
}

// --- sign-in and sign-out ------------------------------------------------------

function signInScreen() {
  document.title = t("sign_in.title") + " · " + word("party", agency);
  const username = input({ autocomplete: "username", autofocus: true });
  const password = input({ type: "password", autocomplete: "current-password" });
  const node = form("sign-in", [
    field("username", t("sign_in.username"), username),
    field("password", t("sign_in.password"), password),
  ], [button(t("sign_in.submit"), null, { type: "submit", kind: "primary", action: "sign-in" })],
  (formNode) => submit(formNode, async () => {
    try {
      return await api.call("POST", "/api/v1/session", {
        anonymous: true, json: { username: username.value, password: password.value } });
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) {
        formNode.querySelector(".form-errors").replaceChildren(h("li", {}, t("sign_in.wrong")));
        notify(t("sign_in.wrong"), "error");
        return null;
      }
      if (error instanceof api.ApiError && error.status === 429) {
        const seconds = error.headers.get("Retry-After") || "?";
        formNode.querySelector(".form-errors").replaceChildren(h("li", {}, t("sign_in.locked", { seconds })));
        notify(t("sign_in.locked", { seconds }), "error");
        return null;
      }
      throw error;
    }
  }, (answer) => {
    if (!answer) return;
    const body = answer.data;
    api.session.set({ token: body.token, user: body.user, roles: body.roles, permissions: body.permissions,
                      expires_at: body.expires_at, agency: body.agency });
    const first = home();
    go(first ? first.path : "/");
    notify(t("sign_in.welcome", { user: body.user }));
  }));
  return h("div", { class: "sign-in" },
    h("h1", {}, word("party", agency)),
    h("p", { class: "sign-in-lead" }, t("sign_in.lead")),
    node);
}

async function signOut() {
  try {
    await api.call("DELETE", "/api/v1/session");
  } catch (error) {
    if (!(error instanceof api.ApiError && error.status === 401)) return notifyError(error);
  }
  api.session.clear();
  go("/sign-in");
  notify(t("app.signed_out"));
}

api.onUnauthorized(() => {
  api.session.clear();
  go("/sign-in");
  notify(t("app.session_ended"), "error");
});

// --- rendering ---------------------------------------------------------------------

async function render() {
  const mine = ++renders;
  const current = api.session.get();
  const { path, query } = parseHash();
  if (!current || !current.token) {
    frame(null, null, signInScreen());
    return;
  }
  if (path === "/" || path === "/sign-in") {
    const first = home();
    if (first) {
      window.location.replace(hashFor(first.path));
      return;
    }
  }
  const found = matchRoute(path);
  if (!found || !allowed(found.route)) {
    frame(current, null, h("section", { class: "screen" },
      h("h1", {}, t(found ? "app.not_allowed" : "app.not_found")),
      home() ? h("p", {}, h("a", { href: "#" + home().path }, t("app.go_home"))) : h("p", {}, t("app.no_screens"))));
    return;
  }
  const { route, params } = found;
  const navRoute = route.nav ? route : routes.find((r) => r.nav && r.path === route.parent);
  document.title = t(route.title || route.nav || "app.title") + " · " + word("party", agency);
  frame(current, navRoute, h("p", { class: "loading" }, t("common.loading")));
  const ctx = {
    agency, path, query, params, session: current, go, replace, refresh: render,
    can: (permission) => api.session.can(permission),
    isCurrent: () => mine === renders,
  };
  try {
    const content = await route.render(ctx);
    if (mine === renders) document.getElementById("main").replaceChildren(content);
  } catch (error) {
    if (mine !== renders) return;
    document.getElementById("main").replaceChildren(h("section", { class: "screen" },
      h("h1", {}, t("error.screen")), h("p", { class: "muted" }, error.problem ? error.problem.detail || "" : "")));
    notifyError(error);
  }
}

async function boot() {
  const load = AGENCIES[agency];
  if (!load) {
    root.replaceChildren(h("p", { class: "loading" }, t("app.unknown_agency", { agency: agency || "?" })));
    return;
  }
  routes = (await load()).routes;
  const current = api.session.get();
  if (current && current.token) {
    try {
      const who = await api.get("/api/v1/session");
      api.session.set({ ...current, user: who.user, roles: who.roles, permissions: who.permissions,
                        expires_at: who.expires_at, agency: who.agency });
    } catch (error) {
      if (!(error instanceof api.ApiError && error.status === 401)) notifyError(error);
    }
  }
  window.addEventListener("hashchange", render);
  onLang(render);
  await render();
}

boot();
