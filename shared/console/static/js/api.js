// The public JSON API of this agency's service (same origin): the bearer
// token kept in sessionStorage, problem+json errors as ApiError.
const SESSION_KEY = "linkage.console.session";
let unauthorizedHandler = () => {};

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY));
    } catch {
      return null;
    }
  },
  set(value) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
  },
  can(permission) {
    const current = this.get();
    return Boolean(current && current.permissions && current.permissions.includes(permission));
  },
};

export class ApiError extends Error {
  constructor(status, problem, headers) {
    super((problem && problem.detail) || "HTTP " + status);
    this.status = status;
    this.problem = problem && typeof problem === "object" ? problem : { detail: String(problem || "") };
    this.headers = headers;
  }

  get errors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

export class NetworkError extends Error {}

// What to do when the server no longer takes the token (signed out, expired).
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

// A key for a create request, so a retried click names the same resource.
export function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function call(method, path, options = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(options.query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json, application/problem+json", ...(options.headers || {}) };
  const current = session.get();
  if (current && current.token && !options.anonymous) headers.Authorization = "Bearer " + current.token;
  let body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.text !== undefined) {
    headers["Content-Type"] = options.contentType || "text/plain";
    body = options.text;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, cache: "no-store", credentials: "omit" });
  } catch (error) {
    throw new NetworkError(error.message);
  }
  let data = null;
  if (response.status !== 204) {
    const type = response.headers.get("Content-Type") || "";
    data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  }
  if (!response.ok) {
    if (response.status === 401 && headers.Authorization) unauthorizedHandler();
    throw new ApiError(response.status, data, response.headers);
  }
  return { status: response.status, data, headers: response.headers };
}

export const get = (path, query) => call("GET", path, { query }).then((r) => r.data);
export const post = (path, json, headers) => call("POST", path, { json, headers }).then((r) => r.data);
