// One service: each instance with its address, tags, meta and checks, and a maintenance toggle for
// the instances registered on this agent (PUT /v1/agent/service/maintenance/:id).

import { linked, request, watch } from "../api.js";
import { badge, h, meta, notice, replace, table, tags } from "../dom.js";
import { checkName, output } from "./checks.js";
import { listPage } from "./list.js";

const MAINTENANCE_PREFIX = "_service_maintenance:";
const ORDER = { passing: 0, warning: 1, critical: 2 };

export function safeId(text) {
  return text.replace(/[^A-Za-z0-9_-]/g, "_");
}

function worst(checks) {
  return checks.reduce((acc, c) => ((ORDER[c.Status] ?? 0) > (ORDER[acc] ?? 0) ? c.Status : acc), "passing");
}

// The page's own state survives live re-renders: drafts of reasons, outcomes of toggles.
class MaintenanceForms {
  constructor(refresh) {
    this.local = new Set();
    this.reasons = new Map();
    this.messages = new Map();
    this.refresh = refresh;
  }

  async toggle(serviceId, enable) {
    const query = { enable: String(enable) };
    if (enable) query.reason = this.reasons.get(serviceId) || "";
    this.messages.set(serviceId, { kind: "info", text: enable ? "Entering maintenance…" : "Leaving maintenance…" });
    this.refresh();
    try {
      await request("PUT", `/v1/agent/service/maintenance/${encodeURIComponent(serviceId)}`, { query });
      this.messages.set(serviceId, { kind: "info", text: enable ? "Maintenance enabled." : "Maintenance disabled." });
      if (!enable) this.reasons.delete(serviceId);
    } catch (err) {
      const title = err.status === 403 ? "Permission denied" : "Could not change maintenance";
      this.messages.set(serviceId, { kind: "error", title, text: err.message });
    }
    this.refresh();
  }

  form(serviceId, maintenance) {
    if (!this.local.has(serviceId)) return null;
    const key = safeId(serviceId);
    const message = this.messages.get(serviceId);
    const status = message
      ? message.kind === "error"
        ? notice("error", message.title, message.text)
        : h("p", { class: "hint", role: "status" }, message.text)
      : null;
    if (maintenance) {
      return h(
        "form",
        { class: "maint", onsubmit: (e) => { e.preventDefault(); this.toggle(serviceId, false); } },
        h("button", { type: "submit", id: `maint-off-${key}`, class: "secondary" }, "Disable maintenance"),
        status,
      );
    }
    const input = h("input", {
      id: `maint-reason-${key}`,
      type: "text",
      value: this.reasons.get(serviceId) || "",
      placeholder: "e.g. deploying v2",
      oninput: (e) => this.reasons.set(serviceId, e.target.value),
    });
    return h(
      "form",
      { class: "maint", onsubmit: (e) => { e.preventDefault(); this.toggle(serviceId, true); } },
      h("label", { for: input.id, class: "visually-hidden" }, `Maintenance reason for ${serviceId}`),
      h("div", { class: "filter-row" }, input, h("button", { type: "submit", id: `maint-on-${key}`, class: "secondary" }, "Enable maintenance")),
      status,
    );
  }
}

function instanceCard(entry, forms) {
  const service = entry.Service;
  const maintenance = entry.Checks.find((c) => c.CheckID === MAINTENANCE_PREFIX + service.ID);
  const status = maintenance ? "maintenance" : worst(entry.Checks);
  const address = service.Address || entry.Node.Address;
  const key = safeId(service.ID);
  return h(
    "section",
    { class: "card instance", "aria-labelledby": `inst-${key}`, "data-service-id": service.ID },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: `inst-${key}` }, service.ID),
      badge(status, maintenance ? `in maintenance${maintenance.Notes ? `: ${maintenance.Notes}` : ""}` : status),
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Node"), h("dd", {}, entry.Node.Node),
      h("dt", {}, "Address"), h("dd", {}, h("code", {}, service.Port ? `${address}:${service.Port}` : address)),
      h("dt", {}, "Tags"), h("dd", {}, tags(service.Tags)),
      h("dt", {}, "Meta"), h("dd", {}, meta(service.Meta)),
      forms.local.has(service.ID)
        ? [h("dt", {}, "Maintenance"), h("dd", {}, forms.form(service.ID, Boolean(maintenance)))]
        : null,
    ),
    h("h3", {}, "Checks"),
    table(
      `Checks of ${service.ID}`,
      ["Check", "Status", "Type", "Output"],
      entry.Checks.map((c) => [checkName(c), badge(c.Status), c.Type || "—", output(c.Output || c.Notes)]),
      "No checks.",
    ),
  );
}

export default function serviceView(main, ctx) {
  const name = ctx.params[0];
  let last = null;
  let lastContent = null;
  const forms = new MaintenanceForms(() => {
    if (last && lastContent) replace(lastContent, render(last));
  });
  const render = (entries) => [
    h("p", { class: "count" }, `${entries.length} ${entries.length === 1 ? "instance" : "instances"}`),
    entries.length ? entries.map((e) => instanceCard(e, forms)) : h("p", { class: "empty" }, "No instances match."),
  ];
  // Which instances are this agent's own (the maintenance endpoint only knows those).
  watch("/v1/agent/services", {
    query: { filter: `Service == ${JSON.stringify(name)}` },
    signal: linked(ctx.signal).signal,
    onData: (services) => {
      forms.local = new Set(Object.keys(services));
      forms.refresh();
    },
    onError: () => {},
  });
  main.append(h("p", { class: "crumbs" }, h("a", { href: "services", "data-nav": "" }, "← All services")));
  listPage(main, ctx, {
    title: name,
    path: `/v1/health/service/${encodeURIComponent(name)}`,
    filter: {
      placeholder: 'Service.Meta.version == "2"',
      hint: "Consul filter expression over instances: Node.Node, Node.Address, Service.ID, Service.Tags, Service.Meta.<key>, Checks …",
    },
    view: (entries) => {
      last = entries;
      lastContent = main.querySelector(".content");
      return render(entries);
    },
  });
}
