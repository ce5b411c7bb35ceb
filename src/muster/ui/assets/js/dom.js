// DOM helpers: elements built from data (never innerHTML), status badges, tables, messages.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replace a region's contents, keeping keyboard focus (and a half-typed value) on the element with
// the same id: live updates must not steal focus from someone working in the page.
export function replace(region, ...children) {
  const active = document.activeElement;
  const keep = active && region.contains(active) && active.id ? active : null;
  const state = keep && "value" in keep
    ? { value: keep.value, start: keep.selectionStart, end: keep.selectionEnd }
    : null;
  region.replaceChildren();
  append(region, children);
  if (keep) {
    const again = document.getElementById(keep.id);
    if (again) {
      if (state && "value" in again) {
        again.value = state.value;
        try {
          again.setSelectionRange(state.start, state.end);
        } catch {
          /* not a text input */
        }
      }
      again.focus({ preventScroll: true });
    }
  }
}

const SYMBOLS = { passing: "✓", warning: "!", critical: "✕", maintenance: "⏸" };
const LABELS = { running: "passing", starting: "warning", stopping: "warning", error: "critical" };

// A status shown as symbol + word + colour, so colour is never the only signal.
export function badge(status, text) {
  const tone = SYMBOLS[status] ? status : LABELS[status] || "unknown";
  return h(
    "span",
    { class: `badge badge-${tone}`, "data-status": status },
    h("span", { class: "badge-symbol", "aria-hidden": "true" }, SYMBOLS[tone] || "?"),
    text === undefined ? status : text,
  );
}

export function tags(list) {
  if (!list || list.length === 0) return h("span", { class: "muted" }, "—");
  return h("ul", { class: "tags", "aria-label": "Tags" }, list.map((t) => h("li", { class: "tag" }, t)));
}

export function meta(map) {
  const entries = Object.entries(map || {});
  if (entries.length === 0) return h("span", { class: "muted" }, "—");
  return h("dl", { class: "meta" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

// A table whose cells carry their column name, which narrow screens show beside each value.
export function table(caption, columns, rows, empty) {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "list" },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.map((cells) =>
          h("tr", {}, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)))
        ),
      ),
    ),
  );
}

export function notice(kind, title, detail) {
  return h(
    "div",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("strong", {}, title),
    detail ? h("span", { class: "notice-detail" }, detail) : null,
  );
}

// The message for a failed read: Consul's own 403 text, with what to do about it.
export function errorNotice(err) {
  if (err.status === 403) {
    return notice(
      "error",
      "Permission denied",
      [err.message, " — set a token that may read this on the ", h("a", { href: "token", "data-nav": "" }, "Token"), " page."],
    );
  }
  if (err.status === 404) return notice("error", "Not found", err.message);
  return notice("error", "Could not load", err.message);
}

export function filteredNote(headers) {
  if (headers && headers.get("X-Consul-Results-Filtered-By-ACLs") === "true") {
    return notice("info", "Some results are hidden", "Your token may not read everything here.");
  }
  return null;
}
