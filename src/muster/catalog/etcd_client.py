"""A small typed client for etcd's v3 gRPC API over aetcd's generated stubs: ranges, transactions,
leases with a keep-alive stream, watches, and the cluster's members with each one's status. One grpc.aio
channel per agent carries every call and watch; several endpoints are one channel with failover, so a
dead member costs a reconnect, not an outage (a member's own status needs a channel to that member).
Every failure surfaces as EtcdUnavailable (a gRPC error) so callers handle one kind."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
from aetcd import rpc

from muster.catalog.config import EtcdConfig, channel_target
from muster.errors import ConfigError

CALL_TIMEOUT = 5.0
# etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time); just above that.
CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 6000),
    ("grpc.keepalive_timeout_ms", 3000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)
PUT, DELETE = 0, 1


class EtcdUnavailable(Exception):
    """etcd could not be reached or refused the call; the text says why."""


class WatchCompacted(Exception):
    """The watch's start revision was compacted away: reload the range, then watch again."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"revision compacted (oldest kept: {compact_revision})")
        self.compact_revision = compact_revision


@dataclass(frozen=True)
class KeyValue:
    key: bytes
    value: bytes
    mod_revision: int
    lease: int
    create_revision: int = 0


@dataclass(frozen=True)
class Event:
    kind: int  # PUT or DELETE
    key: bytes
    value: bytes
    mod_revision: int
    create_revision: int = 0


@dataclass(frozen=True)
class Member:
    id: int
    name: str  # "" until a member added to the cluster has started
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    learner: bool


@dataclass(frozen=True)
class MemberStatus:
    """Maintenance.Status of the member that answered: the leader it follows (0: none), its raft state."""

    member_id: int
    leader: int
    raft_term: int
    raft_index: int
    version: str
    errors: tuple[str, ...]  # alarms such as NOSPACE


def prefix_end(prefix: bytes) -> bytes:
    """The range end that makes [prefix, end) every key starting with prefix (etcd's clientv3)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\0"


class EtcdClient:
    def __init__(self, config: EtcdConfig) -> None:
        self.config = config
        target, secure = channel_target(config.endpoints)
        if secure or config.ca_file:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(config.ca_file),
                private_key=_read(config.key_file),
                certificate_chain=_read(config.cert_file),
            )
            self.channel = grpc.aio.secure_channel(target, credentials, options=CHANNEL_OPTIONS)
        else:
            self.channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        self.kv = rpc.KVStub(self.channel)
        self.leases = rpc.LeaseStub(self.channel)
        self.watches = rpc.WatchStub(self.channel)
        self.cluster = rpc.ClusterStub(self.channel)
        self.maintenance = rpc.MaintenanceStub(self.channel)
        self.by_member: dict[str, EtcdClient] = {}  # a client per member client URL, for its status
        self.metadata: tuple[tuple[str, str], ...] | None = None
        self._auth_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.retain_member_clients(())
        await self.channel.close(grace=None)

    async def _authenticate(self) -> None:
        if not self.config.username or self.metadata is not None:
            return
        async with self._auth_lock:
            if self.metadata is None:
                request = rpc.AuthenticateRequest(name=self.config.username, password=self.config.password)
                reply = await rpc.AuthStub(self.channel).Authenticate(request, timeout=CALL_TIMEOUT)
                self.metadata = (("token", reply.token),)

    async def _call(self, method: Any, request: Any, timeout: float = CALL_TIMEOUT) -> Any:  # noqa: ASYNC109 - a gRPC deadline, sent to etcd
        try:
            await self._authenticate()
            return await method(request, timeout=timeout, metadata=self.metadata)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                self.metadata = None  # the auth token expired: the next call gets a new one
            raise EtcdUnavailable(f"etcd: {exc.code().name}: {exc.details()}") from None

    async def range(
        self, prefix: bytes, *, serializable: bool = False, keys_only: bool = False
    ) -> tuple[int, list[KeyValue]]:
        """Every key under prefix at one revision; serializable reads the member's copy (no quorum)."""
        request = rpc.RangeRequest(
            key=prefix, range_end=prefix_end(prefix), serializable=serializable, keys_only=keys_only
        )
        reply = await self._call(self.kv.Range, request)
        return reply.header.revision, [_kv(kv) for kv in reply.kvs]

    async def get_many(self, keys: Sequence[bytes]) -> tuple[int, dict[bytes, KeyValue]]:
        """Several keys in one round trip (one read-only transaction)."""
        ops = [rpc.RequestOp(request_range=rpc.RangeRequest(key=key)) for key in keys]
        reply = await self._call(self.kv.Txn, rpc.TxnRequest(compare=[], success=ops))
        found = {}
        for response in reply.responses:
            for kv in response.response_range.kvs:
                found[kv.key] = _kv(kv)
        return reply.header.revision, found

    async def ranges(self, prefixes: Sequence[bytes]) -> tuple[int, list[KeyValue]]:
        """Every key under each prefix, all at one revision, in one round trip."""
        ops = [
            rpc.RequestOp(request_range=rpc.RangeRequest(key=p, range_end=prefix_end(p))) for p in prefixes
        ]
        reply = await self._call(self.kv.Txn, rpc.TxnRequest(compare=[], success=ops))
        kvs = [_kv(kv) for response in reply.responses for kv in response.response_range.kvs]
        return int(reply.header.revision), kvs

    async def write(
        self,
        puts: Sequence[tuple[bytes, bytes, int]] = (),
        deletes: Sequence[bytes] = (),
        delete_prefixes: Sequence[bytes] = (),
    ) -> int:
        """Puts (key, value, lease) and deletes in one transaction: all or nothing. Returns the revision."""
        ops = [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=v, lease=lease)) for k, v, lease in puts]
        ops += [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key)) for key in deletes]
        ops += [
            rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=p, range_end=prefix_end(p)))
            for p in delete_prefixes
        ]
        reply = await self._call(self.kv.Txn, rpc.TxnRequest(compare=[], success=ops))
        return int(reply.header.revision)

    async def put_if_absent(self, key: bytes, value: bytes, lease: int = 0) -> bool:
        compare = rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.CREATE, key=key, create_revision=0)
        op = rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value, lease=lease))
        reply = await self._call(self.kv.Txn, rpc.TxnRequest(compare=[compare], success=[op]))
        return bool(reply.succeeded)

    async def grant(self, ttl: float) -> int:
        reply = await self._call(self.leases.LeaseGrant, rpc.LeaseGrantRequest(TTL=max(2, round(ttl))))
        return int(reply.ID)

    async def revoke(self, lease: int) -> None:
        await self._call(self.leases.LeaseRevoke, rpc.LeaseRevokeRequest(ID=lease), timeout=2.0)

    async def keep_alive(self, lease: int) -> int:
        """Refresh the lease once; its remaining TTL (0 or less: the lease is gone)."""
        try:
            await self._authenticate()
            stream = self.leases.LeaseKeepAlive(
                iter([rpc.LeaseKeepAliveRequest(ID=lease)]), timeout=CALL_TIMEOUT, metadata=self.metadata
            )
            async for reply in stream:
                return int(reply.TTL)
        except grpc.aio.AioRpcError as exc:
            raise EtcdUnavailable(f"etcd: {exc.code().name}: {exc.details()}") from None
        return 0

    async def watch(self, prefix: bytes, start_revision: int) -> AsyncIterator[tuple[int, list[Event]]]:
        """Yield (revision, events) for every change under prefix from start_revision on, with progress
        notifications (empty event lists) so a quiet watch still proves the member is there."""
        create = rpc.WatchCreateRequest(
            key=prefix, range_end=prefix_end(prefix), start_revision=start_revision, progress_notify=True
        )
        requests = iter([rpc.WatchRequest(create_request=create)])
        try:
            await self._authenticate()
            # The request iterator ends after the create; grpc keeps the stream open for responses.
            async for reply in self.watches.Watch(requests, metadata=self.metadata):
                if reply.compact_revision:
                    raise WatchCompacted(int(reply.compact_revision))
                if reply.created:
                    continue  # its header revision may precede the replayed history: not progress
                if reply.canceled:
                    raise EtcdUnavailable(f"etcd cancelled the watch: {reply.cancel_reason}")
                events = [_event(e) for e in reply.events]
                yield int(reply.header.revision), events
        except grpc.aio.AioRpcError as exc:
            raise EtcdUnavailable(f"etcd: {exc.code().name}: {exc.details()}") from None
        raise EtcdUnavailable("etcd closed the watch")

    async def members(self, timeout: float = CALL_TIMEOUT) -> list[Member]:  # noqa: ASYNC109 - a gRPC deadline
        """The cluster's members, as the member this channel reaches knows them (no quorum needed)."""
        reply = await self._call(self.cluster.MemberList, rpc.MemberListRequest(), timeout)
        return [
            Member(int(m.ID), m.name, tuple(m.peerURLs), tuple(m.clientURLs), bool(m.isLearner))
            for m in reply.members
        ]

    async def status(self, timeout: float = CALL_TIMEOUT) -> MemberStatus:  # noqa: ASYNC109 - a gRPC deadline
        """The status of the member this channel reaches: use `member_client` to ask a given member."""
        reply = await self._call(self.maintenance.Status, rpc.StatusRequest(), timeout)
        return MemberStatus(
            int(reply.header.member_id),
            int(reply.leader),
            int(reply.raftTerm),
            int(reply.raftIndex),
            reply.version,
            tuple(reply.errors),
        )

    def member_client(self, client_url: str) -> EtcdClient:
        """A client whose channel reaches only the member at `client_url` (same TLS and credentials).
        ConfigError if the URL cannot be dialled."""
        client = self.by_member.get(client_url)
        if client is None:
            client = EtcdClient(dataclasses.replace(self.config, endpoints=(client_url,)))
            self.by_member[client_url] = client
        return client

    async def retain_member_clients(self, client_urls: Collection[str]) -> None:
        """Close the member clients of URLs no member has any more."""
        for url in [url for url in self.by_member if url not in client_urls]:
            await self.by_member.pop(url).close()


def _event(event: Any) -> Event:
    kv = event.kv
    return Event(int(event.type), kv.key, kv.value, int(kv.mod_revision), int(kv.create_revision))


def _kv(kv: Any) -> KeyValue:
    return KeyValue(kv.key, kv.value, int(kv.mod_revision), int(kv.lease), int(kv.create_revision))


def _read(path: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
