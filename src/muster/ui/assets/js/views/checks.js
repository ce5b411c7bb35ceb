// Checks: every health check in the catalog, by state, with its output.

import { badge, h, table } from "../dom.js";
import { listPage, setQueryParam } from "./list.js";

const STATES = ["any", "passing", "warning", "critical"];

export function checkName(c) {
  return h("span", { class: "check-name" }, h("span", { class: "name" }, c.Name), h("code", { class: "sub" }, c.CheckID));
}

export function output(text) {
  return text ? h("pre", { class: "output" }, text) : h("span", { class: "muted" }, "—");
}

export default function checksView(main, ctx) {
  let state = STATES.includes(ctx.query.get("state")) ? ctx.query.get("state") : "any";
  listPage(main, ctx, {
    title: "Checks",
    path: () => `/v1/health/state/${state}`,
    filter: {
      placeholder: 'ServiceName == "web" and Status != "passing"',
      hint: "Consul filter expression over checks: Node, CheckID, Name, Status, ServiceID, ServiceName, ServiceTags, Type, Output, Notes",
    },
    controls: (restart) => {
      const select = h(
        "select",
        {
          id: "checks-state",
          onchange: () => {
            state = select.value;
            setQueryParam("state", state === "any" ? "" : state);
            restart();
          },
        },
        STATES.map((s) => h("option", { value: s, selected: s === state }, s)),
      );
      return h("div", { class: "field" }, h("label", { for: "checks-state" }, "State"), select);
    },
    view: (checks) => [
      h("p", { class: "count" }, `${checks.length} ${checks.length === 1 ? "check" : "checks"}`),
      table(
        "Health checks",
        ["Check", "Status", "Service", "Node", "Type", "Output"],
        checks.map((c) => [
          checkName(c),
          badge(c.Status),
          c.ServiceName
            ? h("a", { href: `services/${encodeURIComponent(c.ServiceName)}`, "data-nav": "" }, c.ServiceName)
            : h("span", { class: "muted" }, "node check"),
          c.Node,
          c.Type || "—",
          output(c.Output || c.Notes),
        ]),
        "No checks match.",
      ),
    ],
  });
}
