from __future__ import annotations

from muster.api import render
from muster.errors import BadRequest


def test_an_error_text_echoing_a_lone_surrogate_is_written_with_replacement_characters() -> None:
    response = render.error(BadRequest('Invalid namespace "\udcff\ud800x"'))
    assert (400, 'Invalid namespace "\ufffd\ufffdx"'.encode()) == (response.status, response.body)


def test_plain_text_keeps_valid_utf8_as_it_is() -> None:
    assert "caf\u00e9 \U0001f600".encode() == render.utf8("caf\u00e9 \U0001f600")
    assert "\ufffd".encode() == render.plain("\udc80", 404).body
