"""One delivery of a job, with the same rules as services/worker/jobs/run-turn.ts:

- where the turn stands is read from the session's log (turn_state.py): a turn that already
  ended, or a job that does not fit the log, is just acked; a job whose user message is not in
  the log yet (a producer that did not write it) gets its `user_message` written first;
- past WORKER_MAX_DELIVER it is poison: an `error` (poison_job) event, dead-lettered, terminated;
- a session cancelled before it started ends with `cancelled` without running the agent;
- a conversation longer than MAX_HISTORY_TOKENS ends with `limit_exceeded`;
- a redelivery of an interrupted turn writes `restart` (mode "rerun": AutoGen cannot continue a
  half-written answer, so the client discards the partial text) and runs the agent again; a
  question it had asked the user is not asked twice (input_broker.py);
- the agents get the conversation so far (the adapter rebuilds it from the log) and can ask the
  user (human.py);
- cancel on fabric.ctl.<sid> cancels the AutoGen run; the turn ends with `cancelled`;
- the job is marked in progress while it runs, and acked only after the terminal event is stored;
- the session registry goes `running`, then `idle` with `lastOutcome`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from ..log import Logger
from ..schemas import SchemaError, validate_control, validate_job
from ..subjects import control_subject, note_session_layout
from .agent_run import AgentRun
from .conversation import trim_history
from .event_log import EventLog
from .factory import Builder
from .human import TurnHuman
from .input_broker import InputBroker
from .registry import SessionRegistry
from .session_writer import SessionWriter
from .turn_end import ack, dead_letter, finish, registry_update, set_idle, terminal_event
from .snapshots import SnapshotStore, refresh_snapshot
from .turn_state import TurnState, read_turn_state


@dataclass
class TurnDeps:
    nc: Any
    js: Any
    event_log: EventLog
    registry: SessionRegistry
    builder: Builder
    log: Logger
    worker_id: str
    ack_wait_ms: int
    max_deliver: int
    timeout_ms: int
    buffer_size: int
    flush_interval_ms: int
    #: Default wait for the user's answer to a question (ms) before `input_timeout`.
    input_timeout_ms: int
    #: Largest conversation (estimated tokens) a turn may carry.
    max_history_tokens: int
    #: Set when the bridge shuts down: running turns stop without writing (another worker resumes them).
    shutdown: asyncio.Event
    #: Set once the bridge has no pull request pending: only then is a job handed back (nak).
    fetch_stopped: asyncio.Event
    #: The adapter named by `--framework`, or None to pick it from what the builder returns.
    framework: str | None = None
    #: Conversation snapshots (None when CONVERSATION_SNAPSHOTS=off or the bucket is missing).
    snapshots: SnapshotStore | None = None


async def run_turn(msg: Any, deps: TurnDeps) -> None:
    """Handles one delivery of a job message."""
    try:
        job = validate_job(json.loads(msg.data))
    except (ValueError, SchemaError) as err:
        deps.log.error("invalid job payload: dead-lettered", err=str(err))
        await dead_letter(deps.js, msg, "invalid job payload", deps.log)
        await msg.term()
        return
    if deps.shutdown.is_set():
        await _hand_back(msg, deps)
        return
    delivery = msg.metadata.num_delivered
    log = deps.log.child(sid=job["sid"], tenant=job["tenant"], agent=job["agent"], delivery=delivery)

    async def keep_alive() -> None:
        every = max(0.5, deps.ack_wait_ms / 3000)
        while True:
            await asyncio.sleep(every)
            try:
                await msg.in_progress()
            except Exception as err:  # noqa: BLE001 - a broker blip: the next tick tries again
                log.warn("in-progress ack failed", err=repr(err))

    ticker = asyncio.create_task(keep_alive())
    try:
        await _run_agent_turn(msg, job, delivery, deps, log)
    finally:
        ticker.cancel()


async def _run_agent_turn(msg: Any, job: dict[str, Any], delivery: int, deps: TurnDeps, log: Logger) -> None:
    sid = job["sid"]
    # The layout the session lives under: the job names it (P > 1), else a lookup finds it (a no-op
    # while one layout was ever recorded).
    if job.get("partitions"):
        note_session_layout(sid, int(job["partitions"]))
    else:
        await deps.registry.locate(sid)
    state = await read_turn_state(deps.event_log, job, deps.snapshots)
    if state.status == "needs_user_message" and _user_message_pending(msg):
        # The gateway appends the message while it queues the job: the job may arrive first. Wait
        # for the gateway's message (writing our own would race it and fence this delivery); only
        # if it never comes (the gateway died between the two) is it written from the job.
        state = await _wait_for_user_message(deps, job, state, log)
    if state.status in ("finished", "conflict"):
        if state.status == "conflict":
            log.error("job does not fit the log: dropped", turn=job["turn"], lastSeq=state.last_seq)
        else:
            log.info("turn already finished: acking redelivered job", lastSeq=state.last_seq)
        await ack(msg, log)
        return
    attempt = state.attempt_for(delivery)
    writer = SessionWriter(
        deps.js,
        deps.event_log,
        job["tenant"],
        sid,
        f"{deps.worker_id}/{delivery}",
        attempt,
        state.last_seq,
        state.last_stream_seq,
    )
    # The user may answer a question of this turn that is already in the log at any moment (even
    # before our `restart` is written): that `input` is the gateway's, not a rival writer's.
    for e in state.current:
        if e.get("type") == "input_request":
            writer.expect_answer(str(e["requestId"]))
    if state.status == "needs_user_message":
        await writer.append({"type": "user_message", "text": job["input"], "user": job["user"]})

    if delivery > deps.max_deliver:
        log.error("poison job: dead-lettered", delivery=delivery)
        error = {
            "code": "poison_job",
            "message": f"job failed {delivery - 1} times; dead-lettered",
            "retryable": False,
        }
        # The record first: whoever sees the session's poison_job error can already find it.
        await dead_letter(deps.js, msg, "max deliveries exceeded", log)
        try:
            await writer.append({"type": "error", "error": error})
        except Exception as err:  # noqa: BLE001 - the job is dead-lettered regardless
            log.warn("could not write the poison error event", err=repr(err))
        await set_idle(deps.registry, sid, "error", log)
        await msg.term()
        return

    record = await deps.registry.get(sid)
    if record and record.get("cancelRequested"):
        await writer.append({"type": "cancelled", "reason": "cancelled before start"})
        await finish(msg, deps.registry, sid, "cancelled", log)
        return
    # Over MAX_HISTORY_TOKENS the oldest turns leave the agents' view (docs/conversations.md);
    # only an input that alone exceeds it ends the turn.
    history = trim_history(state.history, job["input"], deps.max_history_tokens)
    if history is None:
        message = f"the message alone exceeds MAX_HISTORY_TOKENS ({deps.max_history_tokens})"
        await writer.append(
            {"type": "error", "error": {"code": "limit_exceeded", "message": message, "retryable": False}}
        )
        await finish(msg, deps.registry, sid, "error", log)
        return
    if len(history) < len(state.history):
        log.info("history trimmed to MAX_HISTORY_TOKENS", dropped=len(state.history) - len(history))
        state.history = history

    if state.status == "interrupted":
        await writer.append(
            {"type": "restart", "attempt": attempt, "mode": "rerun", "reason": "worker lost; job redelivered"}
        )
        log.warn("restarting interrupted turn", attempt=attempt, afterSeq=state.last_seq)
    await registry_update(deps.registry.set_state(sid, "running"), log)
    await _run_agent(msg, job, state, writer, deps, log)


async def _run_agent(
    msg: Any, job: dict[str, Any], state: TurnState, writer: SessionWriter, deps: TurnDeps, log: Logger
) -> None:
    sid = job["sid"]
    run = AgentRun(
        writer,
        _opt(job, "bufferSize", deps.buffer_size),
        _opt(job, "flushIntervalMs", deps.flush_interval_ms),
        log,
        deps.framework,
    )
    broker = InputBroker(
        nc=deps.nc,
        event_log=deps.event_log,
        registry=deps.registry,
        writer=writer,
        publisher=run.publisher,
        tenant=job["tenant"],
        turn=int(job["turn"]),
        earlier=state.current,
        default_timeout_ms=deps.input_timeout_ms,
        aborted=run.aborted,
        on_timeout=lambda err: run.abort("input_timeout", str(err)),
        log=log,
    )
    human = TurnHuman(broker, run.gate, run.coalescer.flush)

    async def on_control(m: Any) -> None:
        try:
            c = validate_control(json.loads(m.data))
        except (ValueError, SchemaError):
            return
        if c["type"] == "cancel":
            run.abort("cancel", c.get("reason"))

    sub = await deps.nc.subscribe(control_subject(sid), cb=on_control)
    shutdown_watch = asyncio.create_task(deps.shutdown.wait())
    shutdown_watch.add_done_callback(lambda t: None if t.cancelled() else run.abort("shutdown"))
    try:
        outcome = await run.run(deps.builder, job, deps.timeout_ms, state.history, human)
    finally:
        shutdown_watch.cancel()
        await sub.unsubscribe()

    pub = run.publisher
    if outcome.abort and outcome.abort.kind in ("fenced", "shutdown"):
        run.coalescer.dispose()
        await pub.close()
        log.warn(
            "turn stopped without finishing: another worker will resume it",
            reason=outcome.abort.kind,
            err=repr(pub.error) if pub.error else None,
        )
        if outcome.abort.kind == "shutdown" and pub.error is None:
            await _hand_back(msg, deps)
        return
    # Flush what the agent produced before the terminal event, so no text is lost on cancel.
    run.coalescer.flush()
    terminal, result = terminal_event(outcome, deps.timeout_ms)
    try:
        await pub.push(terminal)
    except Exception as err:  # noqa: BLE001 - the job stays unacked and is redelivered
        log.warn("could not write the terminal event: leaving the job for redelivery", err=repr(err))
        await pub.close()
        return
    await pub.close()
    await _write_snapshot(deps, job, log)
    await finish(msg, deps.registry, sid, result, log)


async def _write_snapshot(deps: TurnDeps, job: dict[str, Any], log: Logger) -> None:
    """The turn's snapshot, before the session goes idle (the next turn is queued only then), as
    finish() in run-turn.ts does. Best effort: a failure only makes the next read longer."""
    if deps.snapshots is None:
        return
    try:
        await refresh_snapshot(deps.event_log, deps.snapshots, job["tenant"], job["sid"])
    except Exception as err:  # noqa: BLE001
        log.warn("conversation snapshot not written", err=repr(err))


async def _hand_back(msg: Any, deps: TurnDeps) -> None:
    """Returns a job to the pool for another worker (redelivered at once, not after the ack wait)."""
    await deps.fetch_stopped.wait()
    try:
        await msg.nak()
    except Exception:  # noqa: BLE001 - not handed back: it is redelivered after its ack wait
        pass


def _opt(job: dict[str, Any], key: str, fallback: int) -> int:
    v = job.get("options", {}).get(key)
    return int(v) if isinstance(v, (int, float)) else fallback


#: Set on a job whose producer appends the turn's user message concurrently (shared/nats/job-headers.ts).
USER_MESSAGE_HEADER = "Sf-User-Message"
#: How long to wait for that message before writing it from the job (ms), as the TypeScript worker.
USER_MESSAGE_WAIT_MS = 5_000


def _user_message_pending(msg: Any) -> bool:
    headers = getattr(msg, "headers", None) or {}
    return headers.get(USER_MESSAGE_HEADER) == "pending"


async def _wait_for_user_message(deps: TurnDeps, job: dict[str, Any], state: TurnState, log: Logger) -> TurnState:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + USER_MESSAGE_WAIT_MS / 1000
    delay = 0.002
    while loop.time() < deadline:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
        try:
            last = await deps.event_log.last(job["tenant"], job["sid"])
        except Exception:  # noqa: BLE001 - a broker blip: look again
            last = None
        if last is not None and last.stream_seq > state.last_stream_seq:
            state = await read_turn_state(deps.event_log, job, deps.snapshots)
            if state.status != "needs_user_message":
                return state
    log.warn("the gateway did not append the user message in time: writing it from the job", turn=job["turn"])
    return state
