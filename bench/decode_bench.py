"""Decode cost per request body (issue 14): the typed path (`BodyType.decode`, msgspec alone for a canonical
body) beside the key-normalising decoder alone (what every body cost before) and json.loads, in one run.

    python bench/decode_bench.py
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

from muster.bodies import SERVICE_DEFINITION
from muster.decode import decode_body

BODIES = {
    # bench/registration.py's body
    "registration (bench)": b'{"Name":"reg","ID":"reg-00000001","Port":8080,"Address":"10.1.2.3",'
    b'"Tags":["primary","v1"],"Meta":{"env":"prod","team":"t1"}}',
    "with an HTTP check": b'{"Name":"web","ID":"web-1","Port":8080,"Address":"10.1.2.3","Tags":["a"],'
    b'"Check":{"HTTP":"http://10.1.2.3:8080/health","Interval":"10s","Timeout":"1s",'
    b'"DeregisterCriticalServiceAfter":"1m"}}',
    "with a sidecar": b'{"Name":"web","Port":8080,"Connect":{"SidecarService":{"Proxy":{"Upstreams":'
    b'[{"DestinationName":"db","LocalBindPort":9191}]}}}}',
    "Go client, 2 checks": b'{"ID":"web-1","Name":"web","Tags":["primary","v1"],"Port":8080,'
    b'"Address":"10.1.2.3","TaggedAddresses":{"lan":{"Address":"10.1.2.3","Port":8080},'
    b'"wan":{"Address":"198.51.100.3","Port":80}},"EnableTagOverride":false,'
    b'"Meta":{"env":"prod","team":"t1","version":"1.2.3"},"Weights":{"Passing":10,"Warning":1},'
    b'"Checks":[{"CheckID":"web-http","Name":"HTTP","HTTP":"http://10.1.2.3:8080/health","Method":"GET",'
    b'"Header":{"X-Probe":["1"]},"Interval":"10s","Timeout":"2s","DeregisterCriticalServiceAfter":"1m"},'
    b'{"CheckID":"web-ttl","Name":"TTL","TTL":"30s","Status":"passing"}]}',
    "lowercase keys (py-consul)": b'{"name":"reg","id":"reg-1","port":8080,"address":"10.1.2.3",'
    b'"tags":["a"],"enable_tag_override":true}',
}


def microseconds(call: Callable[[], object], number: int = 20_000) -> float:
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def main() -> None:
    schema = SERVICE_DEFINITION.schema
    print("| body | typed decode | path | normaliser alone (before) | json.loads |")
    print("|---|---|---|---|---|")
    for label, body in BODIES.items():
        path = "msgspec" if SERVICE_DEFINITION.fast(body) is not None else "fallback"
        typed = microseconds(lambda body=body: SERVICE_DEFINITION.decode(body))
        before = microseconds(lambda body=body: decode_body(body, schema))
        loads = microseconds(lambda body=body: json.loads(body))
        print(f"| {label} | {typed:.1f} µs | {path} | {before:.1f} µs | {loads:.1f} µs |")


if __name__ == "__main__":
    main()
