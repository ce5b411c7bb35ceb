// Services: one row per service name with its instance count, check counts and tags.

import { badge, h, table, tags } from "../dom.js";
import { listPage } from "./list.js";

export function healthCounts(passing, warning, critical) {
  const parts = [];
  if (critical) parts.push(badge("critical", `${critical} critical`));
  if (warning) parts.push(badge("warning", `${warning} warning`));
  if (passing) parts.push(badge("passing", `${passing} passing`));
  if (parts.length === 0) return h("span", { class: "muted" }, "no checks");
  return h("span", { class: "badges" }, parts);
}

function rows(services) {
  return services.map((s) => [
    h("a", { href: `services/${encodeURIComponent(s.Name)}`, "data-nav": "", class: "name" }, s.Name),
    healthCounts(s.ChecksPassing, s.ChecksWarning, s.ChecksCritical),
    String(s.InstanceCount),
    String(s.Nodes.length),
    tags(s.Tags),
  ]);
}

export default function servicesView(main, ctx) {
  listPage(main, ctx, {
    title: "Services",
    path: "/v1/internal/ui/services",
    filter: {
      placeholder: 'ServiceTags contains "primary"',
      hint: "Consul filter expression over each instance: Node, Address, ServiceName, ServiceID, ServiceTags, ServiceMeta.<key>, ServicePort …",
    },
    view: (services) => [
      h("p", { class: "count" }, `${services.length} ${services.length === 1 ? "service" : "services"}`),
      table("Services", ["Service", "Health checks", "Instances", "Nodes", "Tags"], rows(services), "No services match."),
    ],
  });
}
