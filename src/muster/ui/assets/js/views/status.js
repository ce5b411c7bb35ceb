// Agent status: the Puppet-style /status/v1/services rollup at debug level, one card per subsystem.

import { linked, watch } from "../api.js";
import { badge, errorNotice, h, notice, replace } from "../dom.js";

const MAX_DEPTH = 4;

function flatten(value, prefix, out, depth) {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && depth < MAX_DEPTH) {
    const keys = Object.keys(value);
    if (keys.length === 0) out.push([prefix, "{}"]);
    for (const key of keys) flatten(value[key], prefix ? `${prefix}.${key}` : key, out, depth + 1);
  } else {
    out.push([prefix, typeof value === "object" ? JSON.stringify(value) : String(value)]);
  }
  return out;
}

function facts(pairs) {
  return h("dl", { class: "kv" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function subsystem(name, info) {
  const pairs = flatten(info.status, "", [], 0);
  const alerts = info.active_alerts || [];
  const short = pairs.length <= 12;
  return h(
    "section",
    { class: "card subsystem", "aria-labelledby": `sub-${name}`, "data-subsystem": name },
    h("div", { class: "card-head" }, h("h2", { id: `sub-${name}` }, name), badge(info.state)),
    h("p", { class: "muted" }, `version ${info.service_version} · detail ${info.detail_level}`),
    alerts.length
      ? h("ul", { class: "alerts", "aria-label": "Active alerts" }, alerts.map((a) => h("li", {}, badge(a.severity === "error" ? "critical" : "warning", a.severity || "alert"), " ", a.message || JSON.stringify(a))))
      : h("p", { class: "hint" }, "No active alerts."),
    short ? facts(pairs) : h("details", {}, h("summary", {}, `Details (${pairs.length} values)`), facts(pairs)),
  );
}

function summary(entries) {
  const bad = entries.filter(([, info]) => info.state !== "running");
  if (bad.length === 0) return notice("ok", `All ${entries.length} subsystems running.`);
  return notice("warn", `${bad.length} of ${entries.length} subsystems not running:`, bad.map(([n, i]) => `${n} (${i.state})`).join(", "));
}

export default function statusView(main, ctx) {
  ctx.title("Agent status");
  const messages = h("div", { class: "messages" });
  const content = h("div", { class: "content grid", id: "status-content" });
  main.append(
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Agent status"),
      h("p", { class: "intro" }, "Each subsystem's state from the status API (", h("code", {}, "/status/v1/services?level=debug"), "), refreshed every few seconds.")),
    messages,
    content,
  );
  watch("/status/v1/services", {
    query: { level: "debug" },
    signal: linked(ctx.signal).signal,
    onData: (body) => {
      const entries = Object.entries(body).sort(([a], [b]) => a.localeCompare(b));
      replace(messages, summary(entries));
      replace(content, entries.map(([name, info]) => subsystem(name, info)));
    },
    onError: (err) => replace(messages, errorNotice(err)),
  });
}
