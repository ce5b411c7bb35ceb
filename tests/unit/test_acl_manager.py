"""ACLManager: builtins, bootstrap, token resolution, policy and token writes, and durability."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from muster.acl import resolver as resolver_module
from muster.acl import state as acl_state
from muster.acl.authorizer import ANONYMOUS_ACCESSOR
from muster.acl.bodies import POLICY_BODY, TOKEN_BODY, PolicyBody, TokenBody
from muster.acl.config import ACLConfig, ACLTokens
from muster.acl.manager import ACLManager
from muster.acl.policies import GLOBAL_MANAGEMENT_ID
from muster.acl.tokens import REDACTED, token_json
from muster.errors import BadRequest, Forbidden, NotFound
from muster.store import MemoryStore, SQLiteStore

ROOT = "e95b599e-166e-7d80-08ad-aee76e7ddf19"
MINUTE = 60 * 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000 * 1_000_000_000

    def __call__(self) -> int:
        return self.now


def config(**tokens: str) -> ACLConfig:
    return ACLConfig(enabled=True, default_policy="deny", tokens=ACLTokens(**tokens))


def manager(store: Any = None, clock: Clock | None = None, **kwargs: Any) -> ACLManager:
    made = ACLManager(
        kwargs.pop("acl_config", None) or config(initial_management=ROOT, agent_recovery="recover"),
        store if store is not None else MemoryStore(),
        node_name="node1",
        datacenter="dc1",
        clock=clock or Clock(),
        **kwargs,
    )
    made.load()
    return made


def policy_body(fields: dict[str, Any]) -> PolicyBody:
    """A policy body as the API decodes it (the normaliser, then the Struct)."""
    return POLICY_BODY.convert(fields)


def token_body(fields: dict[str, Any]) -> TokenBody:
    return TOKEN_BODY.convert(fields)


def sqlite_store(path: Path) -> SQLiteStore:
    """A store with the ACL tables (until store.TABLES lists them, this test creates them)."""
    conn = sqlite3.connect(path)
    for table in acl_state.TABLES:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (ns TEXT NOT NULL, id TEXT NOT NULL, "
            "body BLOB NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID"
        )
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    return store


@pytest_asyncio.fixture
async def acl() -> AsyncIterator[ACLManager]:
    yield manager()


async def web_writer(acl: ACLManager, **extra: Any) -> tuple[str, str]:
    policy = await acl.put_policy(
        policy_body({"Name": "web", "Rules": 'service "web" { policy = "write" }'}), "default"
    )
    token = await acl.create_token(token_body({"Policies": [{"Name": "web"}], **extra}), "default")
    return policy.id, token.secret_id


# -- builtins and bootstrap -------------------------------------------------------
@pytest.mark.asyncio
async def test_acls_start_with_global_management_anonymous_and_the_initial_management_token(
    acl: ACLManager,
) -> None:
    assert "global-management" == acl.state.policies[GLOBAL_MANAGEMENT_ID].name
    anonymous = acl.state.tokens[ANONYMOUS_ACCESSOR]
    assert ("anonymous", "Anonymous Token") == (anonymous.secret_id, anonymous.description)
    root = acl.token_by_secret(ROOT)
    assert root is not None
    assert (GLOBAL_MANAGEMENT_ID,) == root.policies
    assert "Initial Management Token" == root.description
    assert 2 == len(acl.tokens("default"))


@pytest.mark.asyncio
async def test_a_configured_initial_management_token_uses_up_the_bootstrap(acl: ACLManager) -> None:
    with pytest.raises(Forbidden) as caught:
        await acl.bootstrap()
    assert "Permission denied: ACL bootstrap no longer allowed (reset index: 3)" == caught.value.text


@pytest.mark.asyncio
async def test_bootstrap_works_once() -> None:
    acl = manager(acl_config=config())
    token = await acl.bootstrap()
    assert "Bootstrap Token (Global Management)" == token.description
    assert acl.authorize(token.secret_id).allowed("operator", level="write")
    with pytest.raises(Forbidden) as caught:
        await acl.bootstrap()
    assert f"Permission denied: ACL bootstrap no longer allowed (reset index: {token.create_index})" == (
        caught.value.text
    )


@pytest.mark.asyncio
async def test_the_reset_file_allows_one_more_bootstrap(tmp_path: Path) -> None:
    acl = manager(acl_config=config(), data_dir=tmp_path)
    first = await acl.bootstrap()
    (tmp_path / "acl-bootstrap-reset").write_text("999")
    with pytest.raises(BadRequest, match=r"specified 999, reset index: \d+"):
        await acl.bootstrap()
    (tmp_path / "acl-bootstrap-reset").write_text(str(first.create_index))
    chosen = "c0ffee00-0000-4000-8000-000000000000"
    second = await acl.bootstrap(chosen)
    assert chosen == second.secret_id
    assert not (tmp_path / "acl-bootstrap-reset").exists()


# -- resolution -------------------------------------------------------------------
@pytest.mark.asyncio
async def test_an_empty_token_is_the_anonymous_token(acl: ACLManager) -> None:
    authz = acl.authorize("")
    assert (ANONYMOUS_ACCESSOR, False) == (authz.accessor_id, authz.has_token)
    with pytest.raises(Forbidden) as caught:
        authz.require("service", "web", "write")
    assert caught.value.text.endswith(
        "The anonymous token is used implicitly when a request does not specify a token."
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("secret", ["nope", "00000000-0000-4000-8000-000000000000", "anonymou"])
async def test_an_unknown_token_is_acl_not_found(acl: ACLManager, secret: str) -> None:
    with pytest.raises(Forbidden) as caught:
        acl.authorize(secret)
    assert "ACL not found" == caught.value.text


@pytest.mark.asyncio
async def test_root_policy_names_are_refused_as_secrets(acl: ACLManager) -> None:
    with pytest.raises(Forbidden, match="Cannot resolve root ACL"):
        acl.resolve("manage")


@pytest.mark.asyncio
async def test_an_expired_token_is_acl_not_found() -> None:
    clock = Clock()
    acl = manager(clock=clock)
    token = await acl.create_token(token_body({"ExpirationTTL": 2 * MINUTE}), "default")
    assert token.accessor_id == acl.resolve(token.secret_id).accessor_id
    clock.now += 3 * MINUTE
    with pytest.raises(Forbidden, match=r"^ACL not found$"):
        acl.resolve(token.secret_id)
    assert acl.token(token.accessor_id, "default") is None
    assert token.accessor_id not in [t.accessor_id for t in acl.tokens("default")]


@pytest.mark.asyncio
async def test_secret_lookup_is_keyed_by_digest_and_ends_in_a_constant_time_compare(
    acl: ACLManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = acl_state.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(acl_state.hmac, "compare_digest", spy)
    assert acl.resolve(ROOT).token is not None
    assert (ROOT.encode(), ROOT.encode()) == compared[-1]
    assert ROOT.encode() not in b"".join(acl.state._by_secret)  # keys are digests, not secrets


@pytest.mark.asyncio
async def test_the_default_agent_token_stands_in_for_a_missing_token(acl: ACLManager) -> None:
    _, secret = await web_writer(acl)
    await acl.set_agent_token("default", secret)
    authz = acl.authorize("")
    assert authz.has_token
    assert authz.allowed("service", "web", "write")


@pytest.mark.asyncio
async def test_the_agent_recovery_token_may_manage_this_agent_only(acl: ACLManager) -> None:
    authz = acl.authorize("recover")
    assert "agent-recovery:node1" == authz.accessor_id
    assert authz.allowed("agent", "node1", "write")
    assert authz.allowed("node", "any", "read")
    assert not authz.allowed("agent", "node2", "read")
    assert not authz.allowed("service", "web", "read")


@pytest.mark.asyncio
async def test_policies_decide_and_denials_name_the_token(acl: ACLManager) -> None:
    _, secret = await web_writer(acl)
    authz = acl.authorize(secret)
    assert authz.allowed("service", "web", "write")
    with pytest.raises(Forbidden) as caught:
        authz.require("service", "db", "read")
    who = f"token with AccessorID '{authz.accessor_id}'"
    assert f"Permission denied: {who} lacks permission 'service:read' on \"db\"" == caught.value.text


@pytest.mark.asyncio
async def test_the_anonymous_tokens_policies_can_be_edited(acl: ACLManager) -> None:
    policy = await acl.put_policy(
        policy_body({"Name": "ro", "Rules": 'service_prefix "" { policy = "read" }'}), "default"
    )
    assert not acl.authorize("").allowed("service", "web")
    await acl.update_token(ANONYMOUS_ACCESSOR, token_body({"Policies": [{"ID": policy.id}]}), "default")
    assert acl.authorize("").allowed("service", "web")


@pytest.mark.asyncio
async def test_a_policy_update_takes_effect_for_existing_tokens(acl: ACLManager) -> None:
    policy_id, secret = await web_writer(acl)
    assert acl.authorize(secret).allowed("service", "web", "write")
    await acl.put_policy(
        policy_body({"Name": "web", "Rules": 'service "web" { policy = "read" }'}), "default", policy_id
    )
    assert not acl.authorize(secret).allowed("service", "web", "write")
    await acl.delete_policy(policy_id, "default")
    assert not acl.authorize(secret).allowed("service", "web", "read")


@pytest.mark.asyncio
async def test_an_unrelated_acl_write_does_not_parse_policies_again(
    acl: ACLManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_id, secret = await web_writer(acl)
    assert acl.authorize(secret).allowed("service", "web", "write")  # parsed once here
    parsed: list[str] = []
    real = resolver_module.parse_rules
    monkeypatch.setattr(resolver_module, "parse_rules", lambda text: parsed.append(text) or real(text))

    await acl.create_token(token_body({"Description": "unrelated"}), "default")

    assert acl.authorize(secret).allowed("service", "web", "write")
    assert [] == parsed  # a large policy parsed again on every ACL write stalled the loop for seconds
    await acl.put_policy(
        policy_body({"Name": "web", "Rules": 'service "web" { policy = "read" }'}), "default", policy_id
    )
    assert not acl.authorize(secret).allowed("service", "web", "write")
    assert 1 == len(parsed)  # the changed policy, and only it


@pytest.mark.asyncio
async def test_service_identities_grant_the_service_and_its_sidecar() -> None:
    acl = manager()
    token = await acl.create_token(token_body({"ServiceIdentities": [{"ServiceName": "web"}]}), "default")
    authz = acl.authorize(token.secret_id)
    assert authz.allowed("service", "web-sidecar-proxy", "write")
    assert authz.allowed("service", "db", "read")
    assert not authz.allowed("service", "db", "write")


# -- policy writes ------------------------------------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, "Invalid Policy: no Name is set"),
        (
            {"Name": "a b"},
            "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed",
        ),
        (
            {"Name": "global-management"},
            'Invalid Policy: A Policy with Name "global-management" already exists',
        ),
        (
            {"Name": "x", "Rules": 'service "web" {'},
            "Failed to parse ACL rules: At 1:16: expected: IDENT | STRING got: EOF",
        ),
    ],
)
async def test_policy_validation_texts(acl: ACLManager, fields: dict[str, Any], text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await acl.put_policy(policy_body(fields), "default")
    assert text == caught.value.text


@pytest.mark.asyncio
async def test_the_builtin_policy_keeps_its_rules_and_cannot_be_deleted(acl: ACLManager) -> None:
    with pytest.raises(BadRequest, match="Changing the Rules for the builtin global-management policy"):
        await acl.put_policy(
            policy_body({"Name": "global-management", "Rules": ""}), "default", GLOBAL_MANAGEMENT_ID
        )
    renamed = await acl.put_policy(
        policy_body({"Name": "root", "Rules": acl.state.policies[GLOBAL_MANAGEMENT_ID].rules}),
        "default",
        GLOBAL_MANAGEMENT_ID,
    )
    assert "root" == renamed.name
    with pytest.raises(
        BadRequest, match="Delete operation not permitted on the builtin global-management policy"
    ):
        await acl.delete_policy(GLOBAL_MANAGEMENT_ID, "default")


@pytest.mark.asyncio
async def test_missing_policies(acl: ACLManager) -> None:
    missing = "11111111-2222-4333-8444-555555555555"
    with pytest.raises(NotFound, match=r"^Cannot find policy to delete$"):
        await acl.delete_policy(missing, "default")
    with pytest.raises(BadRequest, match=rf"^cannot find policy {missing}$"):
        await acl.put_policy(policy_body({"Name": "x"}), "default", missing)
    with pytest.raises(BadRequest, match=r"^Policy ID invalid UUID$"):
        acl.policy("unknown", "default")


@pytest.mark.asyncio
async def test_policies_are_namespaced(acl: ACLManager) -> None:
    policy = await acl.put_policy(policy_body({"Name": "web"}), "team")
    assert acl.policy(policy.id, "default") is None
    assert acl.policy_by_name("web", "team") == policy
    await acl.put_policy(
        policy_body({"Name": "web"}), "default"
    )  # the same name in another namespace is fine


# -- token writes -------------------------------------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"AccessorID": "not-a-uuid"}, "Invalid Token: AccessorID is not a valid UUID"),
        (
            {"AccessorID": "00000000-0000-0000-0000-000000000099"},
            'Invalid Token: UUIDs with the prefix "00000000-0000-0000-0000-0000000000" are reserved',
        ),
        ({"AccessorID": ANONYMOUS_ACCESSOR}, "Invalid Token: AccessorID is already in use"),
        ({"SecretID": ROOT}, "Invalid Token: SecretID is already in use"),
        (
            {"ExpirationTTL": 30 * 1_000_000_000},
            "ExpirationTime cannot be less than 1m0s in the future (was 30s)",
        ),
        (
            {"ExpirationTTL": 25 * 60 * MINUTE},
            "ExpirationTime cannot be more than 24h0m0s in the future (was 25h0m0s)",
        ),
        (
            {"ExpirationTTL": 2 * MINUTE, "ExpirationTime": "2030-01-01T00:00:00Z"},
            "Token Expiration TTL and Expiration Time cannot both be set",
        ),
        ({"Policies": [{"Name": "nope"}]}, 'No such ACL policy with name "nope"'),
        ({"Roles": [{"Name": "r"}]}, 'No such ACL role with name "r"'),
        (
            {"ServiceIdentities": [{"ServiceName": "Web"}]},
            'Service identity "Web" has an invalid name. '
            "Only alphanumeric characters, '-' and '_' are allowed",
        ),
        ({"AuthMethod": "k8s"}, "AuthMethod field is disallowed outside of Login"),
    ],
)
async def test_token_create_validation_texts(acl: ACLManager, fields: dict[str, Any], text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await acl.create_token(token_body(fields), "default")
    assert text == caught.value.text


@pytest.mark.asyncio
async def test_uppercase_ids_are_accepted_as_consul_does(acl: ACLManager) -> None:
    token = await acl.create_token(
        token_body({"AccessorID": "00000000-DEAD-BEEF-0000-000000000000"}), "default"
    )
    assert token == acl.token("00000000-DEAD-BEEF-0000-000000000000", "default")


@pytest.mark.asyncio
async def test_token_update_replaces_content_and_keeps_ids(acl: ACLManager) -> None:
    _, secret = await web_writer(acl)
    token = acl.resolve(secret).token
    assert token is not None
    updated = await acl.update_token(token.accessor_id, token_body({"Description": "renamed"}), "default")
    assert (secret, "renamed", (), token.create_index) == (
        updated.secret_id,
        updated.description,
        updated.policies,
        updated.create_index,
    )
    assert updated.modify_index > token.modify_index
    with pytest.raises(BadRequest, match=r"^Changing a tokens SecretID is not permitted$"):
        await acl.update_token(token.accessor_id, token_body({"SecretID": ROOT}), "default")
    with pytest.raises(BadRequest, match=rf"^cannot toggle local mode of {token.accessor_id}$"):
        await acl.update_token(token.accessor_id, token_body({"Local": True}), "default")
    with pytest.raises(BadRequest, match=r'^Cannot find token "11111111-2222-4333-8444-555555555555"$'):
        await acl.update_token("11111111-2222-4333-8444-555555555555", token_body({}), "default")


@pytest.mark.asyncio
async def test_clone_copies_links_with_a_new_description_and_new_ids(acl: ACLManager) -> None:
    _, secret = await web_writer(acl)
    source = acl.resolve(secret).token
    assert source is not None
    clone = await acl.clone_token(source.accessor_id, "cloned", "default")
    assert (source.policies, "cloned") == (clone.policies, clone.description)
    assert clone.secret_id != source.secret_id
    with pytest.raises(Forbidden, match=r"^ACL not found$"):
        await acl.clone_token("11111111-2222-4333-8444-555555555555", "", "default")


@pytest.mark.asyncio
async def test_delete_rules(acl: ACLManager) -> None:
    _, secret = await web_writer(acl)
    token = acl.resolve(secret).token
    assert token is not None
    with pytest.raises(BadRequest, match=r"^Delete operation not permitted on the anonymous token$"):
        await acl.delete_token(ANONYMOUS_ACCESSOR, "default", ROOT)
    with pytest.raises(BadRequest, match=r"^Deletion of the request's authorization token is not permitted$"):
        await acl.delete_token(token.accessor_id, "default", secret)
    await acl.delete_token(token.accessor_id, "default", ROOT)
    with pytest.raises(NotFound, match=r"^Cannot find token to delete$"):
        await acl.delete_token(token.accessor_id, "default", ROOT)
    with pytest.raises(Forbidden, match=r"^ACL not found$"):
        acl.resolve(secret)


@pytest.mark.asyncio
async def test_token_listing_filters_by_policy_and_json_redacts_secrets(acl: ACLManager) -> None:
    policy_id, secret = await web_writer(acl)
    listed = acl.tokens("default", policy=policy_id)
    assert [secret] == [t.secret_id for t in listed]
    shown = token_json(listed[0], acl.state.policy_names(), redact=True)
    assert (REDACTED, [{"ID": policy_id, "Name": "web"}]) == (shown["SecretID"], shown["Policies"])
    assert list(shown) == [
        "AccessorID", "SecretID", "Description", "Policies", "Local", "CreateTime", "Hash", "CreateIndex",
        "ModifyIndex",
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_concurrent_creates_of_one_name_yield_one_policy(acl: ACLManager) -> None:
    results = await asyncio.gather(
        *(acl.put_policy(policy_body({"Name": "same"}), "default") for _ in range(5)), return_exceptions=True
    )
    assert 1 == sum(not isinstance(r, BaseException) for r in results)


@pytest.mark.asyncio
async def test_unknown_agent_token_kind_is_404(acl: ACLManager) -> None:
    with pytest.raises(NotFound) as caught:
        await acl.set_agent_token("bogus", "x")
    assert 'Token "bogus" is unknown' == caught.value.text
    await acl.set_agent_token("acl_agent_master_token", "other")  # a legacy spelling
    assert "other" == acl.agent_token("agent_recovery")


def test_disabled_acls_allow_everything_and_create_nothing() -> None:
    acl = manager(acl_config=ACLConfig(enabled=False, tokens=ACLTokens(initial_management=ROOT)))
    assert acl.authorize("made-up").allowed("operator", level="write")
    assert {} == acl.state.tokens


# -- durability -----------------------------------------------------------------------
@pytest.mark.asyncio
async def test_tokens_policies_and_indexes_survive_a_reopened_store(tmp_path: Path) -> None:
    persistent = ACLConfig(
        enabled=True,
        default_policy="deny",
        enable_token_persistence=True,
        tokens=ACLTokens(initial_management=ROOT),
    )
    store = sqlite_store(tmp_path / "db")
    store.start(asyncio.get_running_loop())
    acl = manager(store, acl_config=persistent)
    policy_id, secret = await web_writer(acl)
    await acl.set_agent_token("default", secret)
    index = acl.index
    store.close()

    reopened = sqlite_store(tmp_path / "db")
    again = manager(reopened, acl_config=persistent)
    assert index == again.index
    assert again.authorize(secret).allowed("service", "web", "write")
    assert again.authorize("").allowed("service", "web", "write")  # the persisted default token
    assert 3 == len(again.tokens("default"))  # no second initial management token
    assert "web" == again.state.policies[policy_id].name
    with pytest.raises(Forbidden, match="reset index: 3"):
        await again.bootstrap()
    reopened.close()
