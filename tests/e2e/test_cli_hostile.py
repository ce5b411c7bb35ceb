"""The CLI against a broken or hostile agent: one `Error:` line and exit 1, within its timeout and
bounded memory, for a deeply nested answer, one that drips a byte at a time, and one without end."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.test_cli import muster

Serve = Callable[[socket.socket], None]


def _deep(client: socket.socket) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def _drip(client: socket.socket) -> None:
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(90):  # 45 s of drip: past the CLI's 30 s deadline for the whole exchange
        client.sendall(b" ")
        time.sleep(0.5)


def _endless(client: socket.socket) -> None:
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
    chunk = b"1," * 500_000
    for _ in range(200):  # 200 MB at the most
        client.sendall(chunk)


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[str]:
    serve: Serve = request.param
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:  # closed at the end of the test
                return
            threading.Thread(target=_answer, args=(client, serve), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    done.set()
    server.close()


def _answer(client: socket.socket, serve: Serve) -> None:
    try:
        client.recv(65536)
        serve(client)
    except OSError:
        pass  # the CLI hung up: that is the point
    finally:
        client.close()


@pytest.mark.parametrize("hostile", [_deep, _drip, _endless], indirect=True, ids=["deep", "drip", "endless"])
def test_a_hostile_answer_is_one_error_line(hostile: str) -> None:
    started = time.monotonic()

    result = muster("services", "list", env={"CONSUL_HTTP_ADDR": hostile})

    assert 1 == result.returncode
    assert result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 40  # the CLI's 30 s timeout holds for the whole answer
