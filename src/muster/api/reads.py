"""What every catalog and health read shares (spec consul-reads §2): the query options parsed in
Consul's order with its texts, the catalog `?dc=` names, blocking on the index of what the read
covers, the cached answer bytes, and Consul's response headers (§2.8)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.api.filtering import apply_filter
from muster.blocking import effective_wait
from muster.catalog import Catalog, Contact, Scope
from muster.errors import BadRequest, MusterError
from muster.golang import encode_json, parse_duration, quote

T = TypeVar("T")
# Builds an answer from the catalog `?dc=` names (resolved once per request) at the given index.
BuildResult = Callable[[Catalog, int], Any]
# Parameters Consul's reads know that Muster cannot honour: refused, never silently ignored.
UNSUPPORTED = {
    "peer": "cluster peering is not supported by Muster",
    "sameness-group": "sameness groups are a Consul Enterprise feature",
    "merge-central-config": "Muster keeps no central service configuration (config entries) to merge",
}


@dataclass(frozen=True)
class ReadOptions:
    consistent: bool
    stale: bool
    cached: bool
    wait_ns: int
    index: int

    @property
    def consistency(self) -> str:
        """X-Consul-Effective-Consistency, from the request's options as Consul computes it."""
        return "consistent" if self.consistent else "stale" if self.stale else "leader"


def read_options(call: Call) -> ReadOptions:
    """Consul's `parse` (§2): refused parameters, consistency, Cache-Control, wait, then index; the
    first failure is the answer."""
    query = call.query
    for name, why in UNSUPPORTED.items():
        if name in query:
            raise BadRequest(f'Invalid query parameter: "{name}" - {why}')
    consistent = "consistent" in query
    stale = "stale" in query
    if "max_stale" in query:
        raw = query["max_stale"]
        try:
            stale = parse_duration(raw) > 0 or stale
        except ValueError:
            raise BadRequest(f"Invalid max_stale value {quote(raw)}") from None
    check_consistency(query, stale)
    check_cache_control(call.header("Cache-Control"))
    wait_ns = call.wait_nanos()
    return ReadOptions(consistent, stale, "cached" in query, wait_ns, call.index())


def check_consistency(query: dict[str, str], stale: bool) -> None:
    """Consul's parseConsistency conflicts: `?consistent` with stale reads or with `?cached`."""
    if "consistent" not in query:
        return
    if stale:
        raise BadRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
    if "cached" in query:
        raise BadRequest("Cannot specify ?cached with ?consistent, conflicting semantics.")


def check_cache_control(header: str) -> None:
    """Consul parses the request's Cache-Control on every read; a directive it reads (max-age,
    stale-if-error) with a value that is not an integer is the client's 400. The answers here are
    always current, so the directives change nothing else."""
    for part in header.lower().split(","):
        name, _, value = part.strip().partition("=")
        if name in ("max-age", "stale-if-error"):
            try:
                int(value.strip())
            except ValueError:
                raise BadRequest("Invalid Cache-Control header.") from None


def node_meta(call: Call) -> dict[str, str] | None:
    """`?node-meta=key:value`, repeatable, every pair required (AND); a repeated key keeps its last
    value and a value without `:` asks for an empty one, as Consul's parseMetaFilter. None: absent."""
    pairs = call.request.rel_url.query.getall("node-meta", [])
    if not pairs:
        return None
    wanted: dict[str, str] = {}
    for pair in pairs:
        key, _, value = pair.partition(":")
        wanted[key] = value
    return wanted


def meta_matches(meta: dict[str, str], wanted: dict[str, str] | None) -> bool:
    return wanted is None or all(key in meta and meta[key] == value for key, value in wanted.items())


def near_node(call: Call) -> str:
    """The node `?near=` sorts first: `_agent` is this agent's node; "" sorts nothing."""
    near = call.query.get("near", "")
    return call.parts.config.node_name if near == "_agent" else near


def nearest_first(items: list[T], node_of: Callable[[T], str], near: str) -> list[T]:
    """Without network coordinates every other node is equally far: the `near` node's entries first,
    then the rest in their natural order (a stable sort, as Consul's)."""
    if not near:
        return items
    return sorted(items, key=lambda item: node_of(item) != near)


def tags_match(have: Sequence[str], wanted: Sequence[str]) -> bool:
    """Every asked tag on the instance, compared case-insensitively as Consul's state store does."""
    if not wanted:
        return True
    lowered = {tag.lower() for tag in have}
    return all(tag.lower() in lowered for tag in wanted)


def filtered(call: Call, schema: str, items: list[Any]) -> list[Any]:
    expression = call.query.get("filter", "")
    return apply_filter(expression, schema, items, lambda item: item) if expression else items


def catalog_for(call: Call) -> Catalog:
    """The catalog for `?dc=` (this agent's datacenter when absent)."""
    datacenter = call.query.get("dc") or call.parts.config.datacenter
    catalog = call.parts.catalog.in_datacenter(datacenter)
    if catalog is None:  # Consul answers 500; naming a datacenter that does not exist is the client's mistake
        raise BadRequest("No path to datacenter")
    return catalog


async def blocking(
    call: Call,
    build: BuildResult,
    service: str | None = None,
    *,
    nodes_only: bool = False,
    cacheable: bool = False,
) -> web.Response:
    """Validate the query options, open the catalog view the query reads (one service's, or the whole
    namespace's), block while its index is not past `?index=`, answer with Consul's headers.
    `cacheable`: one of the answers Consul's agent cache serves, which report `X-Cache` to `?cached`."""
    options = read_options(call)
    catalog = catalog_for(call)
    namespace = call.namespace()
    scope = Scope(namespace, service, nodes_only)
    await catalog.open(scope, consistent=options.consistent)
    if options.index > 0:
        await catalog.wait_for_change(scope, options.index, effective_wait(options.wait_ns))
        call.reauthorize()  # the token may have been deleted or its rules changed while it waited
    current = max(1, catalog.index(scope))
    key = _cache_key(call, namespace)
    # A reload replaces the config (node meta, addresses): it is part of what an answer was built from.
    marker = (catalog.marker(scope), call.parts.state.output_version, id(call.parts.config))
    body = call.parts.catalog_bodies.get(key, marker) if key is not None else None
    hit = body is not None
    if body is None:
        body = encode_json(build(catalog, current))
        if key is not None:
            call.parts.catalog_bodies.put(key, marker, body)
    response = render.json_bytes(body, pretty=call.pretty, dev=call.parts.config.dev)
    contact = catalog.contact()
    if not (options.cached and cacheable and not hit):  # a MISS is not what a repeat would say
        call.reuse = (_still_current(call, catalog, scope, (marker[0], marker[1], contact)), current)
    set_read_headers(response, options, current, contact)
    if options.cached and cacheable:
        response.headers["X-Cache"] = "HIT" if hit else "MISS"
        if hit:
            response.headers["Age"] = "0"  # kept current by the catalog itself, as Consul refreshes
    return response


def set_read_headers(response: web.Response, options: ReadOptions, index: int, contact: Contact) -> None:
    """Consul's setMeta (§2.8): the index of what was read, and how current the catalog is."""
    headers = response.headers
    headers["X-Consul-Effective-Consistency"] = options.consistency
    headers["X-Consul-Index"] = str(index)
    headers["X-Consul-KnownLeader"] = "true" if contact.known_leader else "false"
    headers["X-Consul-LastContact"] = str(contact.last_contact_ms)


def _still_current(
    call: Call, catalog: Catalog, scope: Scope, built: tuple[object, int, Contact]
) -> Callable[[], bool]:
    """Whether an answer built at `built` (catalog marker, check outputs, contact) is still the
    handler's: the same config, the same catalog state, and the token resolving to the same authorizer
    (a token deleted, expired or given new rules, or a new default token, resolves to another or to
    none)."""
    parts, state, config = call.parts, call.parts.state, call.parts.config
    token, authorizer = call.token(), call.authorize()

    def fresh() -> bool:
        try:
            current = (catalog.marker(scope), state.output_version, catalog.contact())
            return current == built and parts.config is config and parts.acl.authorize(token) is authorizer
        except MusterError:
            return False

    return fresh


_NOT_IN_KEY = frozenset({"index", "wait", "stale", "consistent", "cached", "pretty", "max_stale", "leader"})


def _cache_key(call: Call, namespace: str) -> tuple[str, str, tuple[str, ...]] | None:
    """What an answer depends on besides the catalog: the path and query (all of it, `tag` repeats
    included, less the blocking and formatting options). With ACLs on, answers depend on the token
    and its policies too: those are not cached."""
    if call.parts.acl.enabled:
        return None
    pairs = call.request.rel_url.raw_query_string.split("&")
    # In order: a repeated parameter's first value is the one read, so order is part of the answer.
    kept = tuple(p for p in pairs if p.partition("=")[0] not in _NOT_IN_KEY)
    return call.request.path, namespace, kept
