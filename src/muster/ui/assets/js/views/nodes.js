// Nodes: the catalog's nodes (one for a single agent; many with the fleet catalog).

import { h, meta, table } from "../dom.js";
import { listPage } from "./list.js";

export default function nodesView(main, ctx) {
  listPage(main, ctx, {
    title: "Nodes",
    path: "/v1/catalog/nodes",
    filter: {
      placeholder: 'Datacenter == "dc1"',
      hint: "Consul filter expression over nodes: Node, Address, Datacenter, ID, Meta.<key>, TaggedAddresses.<key>",
    },
    view: (nodes) => [
      h("p", { class: "count" }, `${nodes.length} ${nodes.length === 1 ? "node" : "nodes"}`),
      table(
        "Nodes",
        ["Node", "Address", "Datacenter", "Meta"],
        nodes.map((n) => [h("span", { class: "name" }, n.Node), h("code", {}, n.Address), n.Datacenter, meta(n.Meta)]),
        "No nodes match.",
      ),
    ],
  });
}
