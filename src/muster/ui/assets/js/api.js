// The HTTP client: the token header, errors with the agent's text, and blocking-query watches.

const TOKEN_KEY = "muster.token";
const WAIT = "60s"; // per blocking request; the agent answers sooner on a change
const MAX_BACKOFF_MS = 30000;
const POLL_MS = 5000; // endpoints without blocking support are polled

export const settings = JSON.parse(
  document.querySelector('meta[name="muster-ui-settings"]').content,
);

export class ApiError extends Error {
  constructor(status, text) {
    super(text || `HTTP ${status}`);
    this.status = status;
  }
  get denied() {
    return this.status === 403;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(secret) {
  if (secret) localStorage.setItem(TOKEN_KEY, secret);
  else localStorage.removeItem(TOKEN_KEY);
}

function url(path, query) {
  const u = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") u.searchParams.set(key, value);
  }
  return u.pathname + u.search;
}

export async function request(method, path, { query, body, signal } = {}) {
  const headers = {};
  const token = getToken();
  if (token) headers["X-Consul-Token"] = token;
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The agent is unreachable");
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, text.trim());
  const type = response.headers.get("Content-Type") || "";
  return {
    headers: response.headers,
    body: type.startsWith("application/json") && text ? JSON.parse(text) : text,
  };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// Listeners told about each watch's health, for the header's live indicator.
const liveListeners = new Set();
export function onLiveChange(listener) {
  liveListeners.add(listener);
}
function reportLive(state) {
  for (const listener of liveListeners) listener(state);
}

// Watch one endpoint: ?index= (X-Consul-Index) or ?hash= (X-Consul-ContentHash) blocking queries, or
// polling where the endpoint answers with neither header. Calls onData on every change, onError on a
// failure (then retries with exponential backoff, except for a 400: a bad query will not get better).
export function watch(path, { query = {}, signal, onData, onError }) {
  let seen = null;
  let backoff = 0;
  (async () => {
    while (!signal.aborted) {
      const started = Date.now();
      const params = { ...query };
      if (seen && seen.kind) {
        params[seen.kind] = seen.value;
        params.wait = WAIT;
      }
      try {
        const { headers, body } = await request("GET", path, { query: params, signal });
        const index = headers.get("X-Consul-Index");
        const hash = headers.get("X-Consul-ContentHash");
        let next = { kind: null, value: null };
        if (index) next = { kind: "index", value: Number(index) < 1 ? "1" : index };
        else if (hash) next = { kind: "hash", value: hash };
        const changed = !seen || !next.kind || next.value !== seen.value;
        // An index that goes backwards means the view was reset: start over (Consul's advice).
        if (seen && next.kind === "index" && Number(next.value) < Number(seen.value)) next.value = "0";
        seen = next;
        backoff = 0;
        reportLive({ ok: true });
        if (changed) onData(body, headers);
        if (!next.kind) await sleep(POLL_MS, signal);
        else if (!changed && Date.now() - started < 100) await sleep(1000, signal); // no busy loop
      } catch (err) {
        if (signal.aborted || err.name === "AbortError") return;
        onError(err);
        const answered = err.status >= 400 && err.status < 500; // the agent is there; the request is not
        if (answered) reportLive({ ok: true });
        if (err.status === 400) return;
        backoff = Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : 1000);
        const delay = backoff / 2 + Math.random() * (backoff / 2);
        if (!answered) reportLive({ ok: false, retryMs: delay });
        await sleep(delay, signal);
      }
    }
  })();
}

// An AbortController that also aborts when its parent signal does (a page's watches end with it).
export function linked(parent) {
  const controller = new AbortController();
  if (parent.aborted) controller.abort();
  else parent.addEventListener("abort", () => controller.abort(), { once: true });
  return controller;
}
