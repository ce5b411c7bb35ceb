"""Call: the request-level rules every endpoint shares, on aiohttp's own request objects."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from muster.api.call import Call, parse_query
from muster.errors import BadRequest


def _call(path: str, headers: dict[str, str] | None = None) -> Call:
    request = make_mocked_request("PUT", path, headers=headers or {})
    return Call(parts=None, request=request, path_id="", query=parse_query(request.query_string))  # type: ignore[arg-type]


def test_the_partition_guard_runs_once_per_call() -> None:
    call = _call("/v1/agent/service/register?ns=team")
    call.guard_partition()
    call.query["partition"] = "p"  # a second look would now refuse: it must not happen

    assert "team" == call.namespace()


def test_a_partition_is_refused_before_anything_else() -> None:
    call = _call("/v1/agent/service/register", headers={"X-Consul-Partition": "p"})

    with pytest.raises(BadRequest, match="Partitions are a Consul Enterprise feature"):
        call.namespace()
