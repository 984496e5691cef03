"""NATS names of the fabric, mirrored from shared/nats/subjects.ts (the source of truth).

A test (test/autogen/bridge-contract.test.ts) compares these with the TypeScript ones, so the
two cannot drift apart silently.
"""

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


def events_subject(tenant: str, sid: str) -> str:
    """Subject of a session's events (EVENTS stream)."""
    return f"fabric.ev.{tenant}.{sid}"


def snapshot_key(tenant: str, sid: str) -> str:
    """KV key of a session's conversation snapshot (as snapshotKey in subjects.ts)."""
    return f"{tenant}.{sid}"


def live_subject(tenant: str, sid: str) -> str:
    """Core-NATS subject on which the server republishes a session's events once stored."""
    return f"fabric.live.{tenant}.{sid}"


def job_subject(agent: str) -> str:
    """Subject of an agent pool's jobs (JOBS work-queue stream)."""
    return f"fabric.jobs.{agent}"


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
