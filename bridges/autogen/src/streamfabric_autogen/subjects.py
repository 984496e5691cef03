"""NATS names of the fabric, mirrored from shared/nats/subjects.ts (the source of truth).

A test (test/autogen/bridge-contract.test.ts) compares these with the TypeScript ones, so the
two cannot drift apart silently.

Partitions (docs/partitions.md): with NATS_PARTITIONS = P > 1 the events, jobs, session registry and
snapshots are split into P streams/buckets; a session's partition is FNV-1a 32 of its sid mod P (the
same function as partitionOf in subjects.ts; shared/nats/partition-vectors.json checks both). The
bridge reads the recorded layout from the `fabric_meta` bucket at start (core/layout.py).
"""

import os

EVENTS_STREAM = "FABRIC_EVENTS"
JOBS_STREAM = "FABRIC_JOBS"
DEADLETTER_STREAM = "FABRIC_DEADLETTER"
SESSIONS_BUCKET = "fabric_sessions"
#: Folded conversations, one entry per session (docs/conversations.md).
SNAPSHOTS_BUCKET = "fabric_snapshots"

#: Header carrying the event's seq so that consumers need not parse JSON.
SEQ_HEADER = "Sf-Seq"
#: Header naming the writer (job attempt) of an event.
WRITER_HEADER = "Sf-Writer"
#: Header carrying the producer's timestamp (ms).
TS_HEADER = "Sf-Ts"


#: KV bucket of fabric-wide facts: key `partitions` holds the layout history [{partitions, since}].
META_BUCKET = "fabric_meta"
META_PARTITIONS_KEY = "partitions"
MAX_PARTITIONS = 64


def env_partitions(env: "dict[str, str] | os._Environ[str] | None" = None) -> int:
    """NATS_PARTITIONS from the environment (default 1)."""
    raw = (os.environ if env is None else env).get("NATS_PARTITIONS", "")
    if raw.strip() == "":
        return 1
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1 or n > MAX_PARTITIONS:
        raise ValueError(f'NATS_PARTITIONS must be an integer from 1 to {MAX_PARTITIONS} (got "{raw}")')
    return n


_current = 1
_earlier: list[int] = []
#: Sessions found under an earlier layout: sid -> that layout's partition count.
_earlier_layout_of: dict[str, int] = {}
_MEMO_MAX = 1_000_000


def partition_count() -> int:
    """The partition count new sessions are created under."""
    return _current


def set_partition_layout(current: int, earlier: "list[int] | None" = None) -> None:
    """Installs the layout: the current partition count and the earlier recorded ones."""
    global _current, _earlier
    if current < 1 or current > MAX_PARTITIONS:
        raise ValueError(f"partition count must be from 1 to {MAX_PARTITIONS}")
    _current = current
    seen: list[int] = []
    for p in earlier or []:
        if p != current and p not in seen:
            seen.append(p)
    _earlier = seen
    _earlier_layout_of.clear()


def layouts_to_search() -> list[int]:
    """Every partition count a session may live under, current first."""
    return [_current, *reversed(_earlier)]


def note_session_layout(sid: str, partitions: int) -> None:
    """Records that `sid` lives under layout `partitions` (found there by a registry lookup)."""
    if partitions == _current:
        _earlier_layout_of.pop(sid, None)
        return
    if len(_earlier_layout_of) >= _MEMO_MAX:
        _earlier_layout_of.clear()
    _earlier_layout_of[sid] = partitions


def session_partitions(sid: str) -> int:
    return _earlier_layout_of.get(sid, _current)


def fnv1a32(s: str) -> int:
    """FNV-1a 32-bit hash of the UTF-8 bytes (as fnv1a32 in subjects.ts)."""
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def partition_of(sid: str, partitions: "int | None" = None) -> int:
    p = session_partitions(sid) if partitions is None else partitions
    return 0 if p == 1 else fnv1a32(sid) % p


def _partitioned(base: str, partitions: int, i: int) -> str:
    return base if partitions == 1 else f"{base}_{i}"


def events_stream(sid: str) -> str:
    p = session_partitions(sid)
    return _partitioned(EVENTS_STREAM, p, partition_of(sid, p))


def sessions_bucket(sid: str, partitions: "int | None" = None) -> str:
    p = session_partitions(sid) if partitions is None else partitions
    return _partitioned(SESSIONS_BUCKET, p, partition_of(sid, p))


def snapshots_bucket(sid: str) -> str:
    p = session_partitions(sid)
    return _partitioned(SNAPSHOTS_BUCKET, p, partition_of(sid, p))


def partition_names(partitions: "int | None" = None) -> list[dict[str, "str | int"]]:
    """Names of every partition of a layout (as partitionNames in subjects.ts)."""
    p = _current if partitions is None else partitions
    return [
        {
            "partitions": p,
            "index": i,
            "eventsStream": _partitioned(EVENTS_STREAM, p, i),
            "jobsStream": _partitioned(JOBS_STREAM, p, i),
            "sessionsBucket": _partitioned(SESSIONS_BUCKET, p, i),
            "snapshotsBucket": _partitioned(SNAPSHOTS_BUCKET, p, i),
        }
        for i in range(p)
    ]


def all_partitions() -> list[dict[str, "str | int"]]:
    """Every distinct partition of every known layout (as allPartitions in subjects.ts)."""
    seen: dict[str, dict[str, "str | int"]] = {}
    for p in [*_earlier, _current]:
        for n in partition_names(p):
            seen.setdefault(str(n["eventsStream"]), n)
    return list(seen.values())


def partition_job_subject(agent: str, part: "dict[str, str | int]") -> str:
    """The jobs subject of `agent` in one partition (a worker consumer's filter)."""
    return f"fabric.jobs.{agent}" if part["partitions"] == 1 else f"fabric.jobs.{agent}.{part['index']}"


def events_subject(tenant: str, sid: str) -> str:
    """Subject of a session's events: `.<partition>` appended when the session's layout has P > 1."""
    p = session_partitions(sid)
    return f"fabric.ev.{tenant}.{sid}" if p == 1 else f"fabric.ev.{tenant}.{sid}.{partition_of(sid, p)}"


def snapshot_key(tenant: str, sid: str) -> str:
    """KV key of a session's conversation snapshot (as snapshotKey in subjects.ts)."""
    return f"{tenant}.{sid}"


def live_subject(tenant: str, sid: str) -> str:
    """Core-NATS subject on which the server republishes a session's events once stored."""
    return f"fabric.live.{tenant}.{sid}"


def job_subject(agent: str, sid: "str | None" = None) -> str:
    """Subject of a job for `agent` (JOBS work-queue stream); `.<partition>` appended when P > 1."""
    if _current == 1:
        return f"fabric.jobs.{agent}"
    return f"fabric.jobs.{agent}.{partition_of(sid, _current) if sid else 0}"


def control_subject(sid: str) -> str:
    """Core-NATS subject of control messages (cancel) to the worker running a session."""
    return f"fabric.ctl.{sid}"


def dead_letter_subject(agent: str) -> str:
    """Subject of poison jobs (DEADLETTER stream)."""
    return f"fabric.dead.{agent}"


def worker_consumer_name(agent: str) -> str:
    """Durable consumer name of the worker pool serving an agent (shared with TypeScript workers)."""
    return f"workers-{agent}"


def event_msg_id(sid: str, seq: int, writer: str) -> str:
    """`Nats-Msg-Id` of a session event: a retried publish of the same event by the same writer is
    stored once. The writer is part of it because a clustered stream checks duplicates before the
    expected sequence: with `<sid>:<seq>` alone a zombie's write would come back "duplicate,
    stored" instead of being fenced (see shared/nats/subjects.ts)."""
    return f"{sid}:{seq}:{writer}"


#: KV bucket where worker pools declare the agents they serve (AGENT-POOLS.md).
AGENTS_BUCKET = "FABRIC_AGENTS"


def agent_pool_key(agent: str) -> str:
    """Key of an agent's pool declaration (written at start by every worker; never expires)."""
    return f"pool.{agent}"


def agent_live_key(agent: str, worker_id: str) -> str:
    """Key of one worker's heartbeat for an agent (deleted on graceful shutdown)."""
    return f"live.{agent}.{worker_id}"
