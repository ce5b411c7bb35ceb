// The single-page app: a history-API router over the views, the nav state, the live indicator.

import { getToken, onLiveChange, settings } from "./api.js";
import checksView from "./views/checks.js";
import nodesView from "./views/nodes.js";
import serviceView from "./views/service.js";
import servicesView from "./views/services.js";
import statusView from "./views/status.js";
import tokenView from "./views/token.js";

const ROUTES = [
  [/^services\/?$/, "services", servicesView],
  [/^services\/([^/]+)\/?$/, "services", serviceView],
  [/^nodes\/?$/, "nodes", nodesView],
  [/^checks\/?$/, "checks", checksView],
  [/^status\/?$/, "status", statusView],
  [/^token\/?$/, "token", tokenView],
];

let current = null;

function relativePath() {
  const path = window.location.pathname;
  return path.startsWith(settings.contentPath) ? path.slice(settings.contentPath.length) : "";
}

function notFound(main, ctx) {
  ctx.title("Not found");
  const h1 = document.createElement("h1");
  h1.textContent = "Page not found";
  h1.tabIndex = -1;
  const p = document.createElement("p");
  p.textContent = "There is no such page in the UI. ";
  const a = document.createElement("a");
  a.href = "services";
  a.dataset.nav = "";
  a.textContent = "Go to Services";
  p.append(a);
  main.append(h1, p);
}

function showToken() {
  const link = document.getElementById("token-link");
  const set = Boolean(getToken());
  link.textContent = settings.aclsEnabled || set ? `Token: ${set ? "set" : "anonymous"}` : "Token";
}

function render({ focus }) {
  const rel = relativePath();
  if (rel === "") {
    history.replaceState(null, "", `${settings.contentPath}services${window.location.search}`);
    return render({ focus });
  }
  let view = notFound;
  let section = "";
  let params = [];
  for (const [pattern, name, candidate] of ROUTES) {
    const match = rel.match(pattern);
    if (match) {
      view = candidate;
      section = name;
      params = match.slice(1).map(decodeURIComponent);
      break;
    }
  }
  if (current) current.abort();
  current = new AbortController();
  for (const link of document.querySelectorAll(".nav a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  main.replaceChildren();
  view(main, {
    section,
    params,
    signal: current.signal,
    query: new URLSearchParams(window.location.search),
    title: (text) => {
      document.title = `${text} · Muster`;
    },
    tokenChanged: showToken,
  });
  if (focus) {
    const heading = main.querySelector("h1");
    (heading || main).focus();
  }
}

export function navigate(href) {
  const target = new URL(href, document.baseURI);
  if (target.pathname + target.search === window.location.pathname + window.location.search) return;
  history.pushState(null, "", target.pathname + target.search);
  render({ focus: true });
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});

window.addEventListener("popstate", () => render({ focus: true }));

onLiveChange((state) => {
  const live = document.getElementById("live");
  const text = state.ok ? "● Live" : `Reconnecting in ${Math.ceil(state.retryMs / 1000)} s…`;
  if (live.textContent !== text) live.textContent = text;
  live.dataset.state = state.ok ? "ok" : "retry";
});

showToken();
render({ focus: false });
