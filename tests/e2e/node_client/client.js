// Runs the shared client scenario of tests/e2e/test_clients.py with the npm `consul` package
// against the agent at 127.0.0.1:<port>, and prints what it observed as one JSON object.
// Usage: node client.js <port>
"use strict";

const Consul = require("consul");

async function main() {
  const port = Number(process.argv[2]);
  const c = new Consul({ host: "127.0.0.1", port });
  const obs = {};

  const ok = async (promise) => {
    await promise; // writes resolve to undefined on 200; any other status rejects
    return true;
  };
  const status = async (id) => {
    const check = (await c.agent.check.list())[id];
    return [check.Status, check.Output];
  };
  const ids = (entries) => entries.map((e) => e.Service.ID).sort();
  const checkIds = (checks) => checks.map((ch) => ch.CheckID).sort();

  obs.register_service = await ok(
    c.agent.service.register({ name: "web", id: "web-1", port: 8080, tags: ["v1"], check: { ttl: "10s" } }),
  );
  obs.register_check = await ok(c.agent.check.register({ name: "mem", id: "mem", ttl: "10s", serviceid: "web-1" }));
  try {
    await c.agent.check.register({ name: "x", id: "x", ttl: "10s", serviceid: "ghost" });
    obs.register_check_unknown_service = true;
  } catch (err) {
    obs.register_check_unknown_service = [err.statusCode, String(err.response && err.response.body)];
  }
  obs.check_ids = Object.keys(await c.agent.check.list()).sort();

  obs.pass = [await ok(c.agent.check.pass({ id: "mem", note: "ok" })), await status("mem")];
  obs.warn = [await ok(c.agent.check.warn({ id: "mem", note: "meh" })), await status("mem")];
  obs.fail = [await ok(c.agent.check.fail({ id: "mem", note: "bad" })), await status("mem")];
  await c.agent.check.pass({ id: "service:web-1", note: "up" });

  obs.health_all = ids(await c.health.service("web"));
  obs.health_passing_while_mem_critical = ids(await c.health.service({ service: "web", passing: true }));
  await c.agent.check.pass("mem");
  obs.health_passing = ids(await c.health.service({ service: "web", passing: true }));
  obs.health_checks = checkIds(await c.health.checks("web"));
  obs.catalog_services = await c.catalog.service.list();
  obs.catalog_service_tagged = (await c.catalog.service.nodes({ service: "web", tag: "V1", near: "_agent" })).map(
    (n) => n.ServiceID,
  );
  obs.health_tagged_passing = ids(await c.health.service({ service: "web", tag: "v1", passing: true, near: "_agent" }));
  obs.health_state_passing = checkIds(await c.health.state("passing"));

  obs.service_maintenance_on = await ok(
    c.agent.service.maintenance({ id: "web-1", enable: true, reason: "deploy" }),
  );
  obs.service_maintenance_notes = (await c.agent.check.list())["_service_maintenance:web-1"].Notes;
  obs.health_passing_in_service_maintenance = ids(await c.health.service({ service: "web", passing: true }));
  obs.health_checks_in_service_maintenance = checkIds(await c.health.checks("web"));
  obs.service_maintenance_off = await ok(c.agent.service.maintenance({ id: "web-1", enable: false }));

  obs.node_maintenance_on = await ok(c.agent.maintenance({ enable: true, reason: "kernel" }));
  obs.node_maintenance_notes = (await c.agent.check.list())["_node_maintenance"].Notes;
  obs.health_passing_in_node_maintenance = ids(await c.health.service({ service: "web", passing: true }));
  obs.node_maintenance_off = await ok(c.agent.maintenance(false));
  obs.health_passing_after_maintenance = ids(await c.health.service({ service: "web", passing: true }));

  obs.deregister_check = await ok(c.agent.check.deregister("mem"));
  obs.deregister_service = await ok(c.agent.service.deregister("web-1"));
  obs.checks_at_end = await c.agent.check.list();

  process.stdout.write(JSON.stringify(obs) + "\n");
}

main().catch((err) => {
  const status = err && err.statusCode ? ` (HTTP ${err.statusCode}: ${err.response && err.response.body})` : "";
  process.stderr.write(`${(err && err.stack) || err}${status}\n`);
  process.exit(1);
});
