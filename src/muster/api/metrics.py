"""`GET /v1/agent/metrics`: Consul's JSON summary, or Prometheus' text format with `?format=prometheus`
or an `Accept` header a Prometheus scraper sends (as Consul 1.7.2+ switches on it). Needs `agent:read`."""

from __future__ import annotations

from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.golang import encode_json

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
# Consul's acceptsOpenMetricMimeType: what Prometheus and its agents put in Accept when scraping.
_SCRAPER_TYPES = ("application/openmetrics-text", "text/plain; version=0.0.4")


def wants_prometheus(call: Call) -> bool:
    if call.query.get("format") == "prometheus":
        return True
    accept = call.request.headers.get("Accept", "")
    return any(kind in accept for kind in _SCRAPER_TYPES)


async def agent_metrics(call: Call) -> web.Response:
    call.authorize().require("agent", call.parts.config.node_name, "read")
    metrics = call.parts.metrics
    if wants_prometheus(call):
        return render.text(metrics.prometheus_text().decode(), content_type=PROMETHEUS_TEXT)
    body = encode_json(metrics.summary())
    return render.json_bytes(body, pretty=call.pretty, dev=call.parts.config.dev)
