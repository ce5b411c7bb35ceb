"""The rules of /v1/catalog/register and /deregister that the etcd and the local catalogs share
(catalog/external_entries.py), and the catalog indexes a write of an external node moves
(catalog/external_indexes.py, spec consul-reads §4.1)."""

from __future__ import annotations

import pytest

from muster.agent.catalog_indexes import CatalogIndexes
from muster.catalog import NodeRecord
from muster.catalog.external_entries import ExternalNode, Registration, deregistered, registered
from muster.catalog.external_indexes import moved_by
from muster.errors import BadRequest
from muster.models import PASSING, WARNING, Check, CheckDefinition, Service

NODE = NodeRecord("", "box", "10.0.0.9", "dc1")


def check(check_id: str, service_id: str = "", status: str = PASSING) -> Check:
    definition = CheckDefinition(check_id=check_id, name=check_id, service_id=service_id)
    return Check(definition=definition, status=status)


def register(
    existing: ExternalNode | None,
    service: Service | None = None,
    checks: tuple[Check, ...] = (),
    node: NodeRecord = NODE,
    skip_node_update: bool = False,
) -> tuple[ExternalNode, list[str]]:
    """The node after the registration, and the services it needed write on beyond its own."""
    asked: list[str] = []
    after = registered(existing, Registration(node, service, list(checks), skip_node_update), asked.append)
    return after, asked


def db_node() -> ExternalNode:
    node, _ = register(
        None, Service(id="db-1", name="db", tags=["a"]), (check("db-alive", "db-1"), check("power"))
    )
    return node


def test_checks_land_on_their_service_or_the_node_and_carry_the_services_labels() -> None:
    node = db_node()

    assert (["power"], ["db-alive"]) == (list(node.checks), list(node.services["db-1"].checks))
    labels = node.services["db-1"].checks["db-alive"]
    assert ("db", ["a"]) == (labels.service_name, labels.service_tags)
    assert "" == node.checks["power"].service_name


def test_registration_leaves_its_input_alone() -> None:
    before = db_node()
    register(before, Service(id="db-1", name="cache"), node=NodeRecord("", "box", "10.0.0.1", "dc1"))

    assert (NODE, ["db-alive"]) == (before.node, list(before.services["db-1"].checks))


def test_skip_node_update_keeps_an_existing_node_and_not_a_new_one() -> None:
    moved = NodeRecord("", "box", "10.9.9.9", "dc1")

    kept, _ = register(db_node(), node=moved, skip_node_update=True)
    new, _ = register(None, node=moved, skip_node_update=True)

    assert (NODE, moved) == (kept.node, new.node)


def test_a_service_id_under_another_name_needs_write_on_it_and_drops_its_checks() -> None:
    after, asked = register(db_node(), Service(id="db-1", name="cache"))

    assert (["db"], "cache", {}) == (
        asked,
        after.services["db-1"].service.name,
        after.services["db-1"].checks,
    )


def test_a_check_of_another_service_needs_write_on_it() -> None:
    before = db_node()
    _, asked = register(before, Service(id="web-1", name="web"), (check("db-alive", "db-1", WARNING),))
    _, own = register(before, Service(id="db-1", name="db"), (check("db-alive", "db-1", WARNING),))

    assert (["db"], []) == (asked, own)


def test_a_check_id_is_the_nodes_and_taking_it_from_another_service_needs_write_on_it() -> None:
    before, _ = register(db_node(), Service(id="web-1", name="web"))
    after, asked = register(before, Service(id="web-1", name="web"), (check("db-alive", "web-1"),))

    assert ["db"] == asked
    assert ({}, ["db-alive"]) == (after.services["db-1"].checks, list(after.services["web-1"].checks))
    as_node_check, asked = register(before, checks=(check("db-alive"),))
    assert (["db"], ["db-alive", "power"]) == (asked, sorted(as_node_check.checks))


def test_a_check_of_an_unknown_service_is_a_400() -> None:
    with pytest.raises(BadRequest, match="Unknown service ID 'nope' for check 'c'"):
        register(db_node(), checks=(check("c", "nope"),))


def test_deregistration_by_node_service_or_check_and_the_service_id_wins() -> None:
    node = db_node()

    assert deregistered(node, "", "") is None
    by_service = deregistered(node, "db-1", "power")
    assert by_service is not None
    assert ({}, ["power"]) == (by_service.services, list(by_service.checks))
    by_check = deregistered(node, "", "db-alive")
    assert by_check is not None
    assert ({}, ["power"]) == (by_check.services["db-1"].checks, list(by_check.checks))


def test_an_external_db_moves_db_and_not_web() -> None:
    indexes = CatalogIndexes()
    indexes.instance_added(("default", "web"), 2)
    after = db_node()

    moved = moved_by(indexes, None, after, 5)

    assert {("default", "db")} == moved
    assert (5, 2, 5) == (indexes.service("default", "db"), indexes.service("default", "web"), indexes.nodes)
    assert (5, 5, 5) == (
        after.node.modify_index,
        after.services["db-1"].create_index,
        after.checks["power"].create_index,
    )


def test_an_unchanged_write_moves_nothing_and_keeps_the_entry_indexes() -> None:
    indexes = CatalogIndexes()
    before = db_node()
    moved_by(indexes, None, before, 5)
    again, _ = register(before, Service(id="db-1", name="db", tags=["a"]), (check("power"),))

    assert set() == moved_by(indexes, before, again, 9)
    assert (5, 5) == (indexes.service("default", "db"), again.services["db-1"].modify_index)


def test_a_node_check_moves_every_service_of_the_node_but_not_their_instances() -> None:
    indexes = CatalogIndexes()
    before, _ = register(db_node(), Service(id="web-1", name="web"))
    moved_by(indexes, None, before, 5)
    after, _ = register(before, checks=(check("power", status=WARNING),))

    moved = moved_by(indexes, before, after, 7)

    assert {("default", "db"), ("default", "web")} == moved
    assert (7, 7, 5) == (indexes.service("default", "web"), indexes.checks, indexes.nodes)
    assert (5, 7) == (after.services["db-1"].modify_index, after.checks["power"].modify_index)
    assert 5 == after.checks["power"].create_index


def test_the_last_instance_leaving_sets_extinction_and_another_node_keeps_it_alive() -> None:
    indexes = CatalogIndexes()
    first, second = (
        db_node(),
        register(None, Service(id="db-2", name="db"), node=NodeRecord("", "b2", "1", "dc1"))[0],
    )
    moved_by(indexes, None, first, 3)
    moved_by(indexes, None, second, 4)

    moved_by(indexes, first, None, 6)
    assert (6, 0) == (indexes.service("default", "db"), indexes.extinction)
    moved_by(indexes, second, deregistered(second, "db-2", ""), 8)
    assert (8, 8) == (indexes.service("default", "db"), indexes.extinction)
