"""One delivery of a job, with the same rules as services/worker/jobs/run-turn.ts:

- a redelivered job whose turn already ended (the log's last event is terminal) is just acked;
- past WORKER_MAX_DELIVER it is poison: an `error` (poison_job) event, dead-lettered, terminated;
- a session cancelled before it started ends with `cancelled` without running the agent;
- a redelivery of an interrupted turn writes `restart` (mode "rerun": AutoGen cannot continue a
  half-written answer, so the client discards the partial text) and runs the agent again;
- cancel on fabric.ctl.<sid> cancels the AutoGen run; the turn ends with `cancelled`;
- the job is marked in progress while it runs, and acked only after the terminal event is stored;
- the session registry goes `running`, then `idle` with `lastOutcome`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from .agent_run import AgentRun, RunOutcome
from .event_log import EventLog
from .factory import Builder
from .log import Logger
from .registry import SessionRegistry
from .schemas import SchemaError, validate_control, validate_job
from .session_writer import SessionWriter
from .subjects import control_subject, dead_letter_subject

TERMINAL = {"done", "error", "cancelled"}


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
    #: Set when the bridge shuts down: running turns stop without writing (another worker resumes them).
    shutdown: asyncio.Event
    #: Set once the bridge has no pull request pending: only then is a job handed back (nak).
    fetch_stopped: asyncio.Event


async def run_turn(msg: Any, deps: TurnDeps) -> None:
    """Handles one delivery of a job message."""
    try:
        job = validate_job(json.loads(msg.data))
    except (ValueError, SchemaError) as err:
        deps.log.error("invalid job payload: dead-lettered", err=str(err))
        await _dead_letter(deps, msg, "invalid job payload")
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
    sid, tenant = job["sid"], job["tenant"]
    last = await deps.event_log.last(tenant, sid)
    if last and last.event.get("type") in TERMINAL:
        log.info("turn already finished: acking redelivered job", lastSeq=last.event.get("seq"))
        await _ack(msg, log)
        return
    last_attempt = int(last.event.get("attempt") or 0) if last else 0
    attempt = max(delivery, last_attempt + (1 if last else 0), 1)
    writer = SessionWriter(
        deps.js,
        deps.event_log,
        tenant,
        sid,
        f"{deps.worker_id}/{delivery}",
        attempt,
        int(last.event["seq"]) if last else 0,
        last.stream_seq if last else 0,
    )

    if delivery > deps.max_deliver:
        log.error("poison job: dead-lettered", delivery=delivery)
        error = {
            "code": "poison_job",
            "message": f"job failed {delivery - 1} times; dead-lettered",
            "retryable": False,
        }
        try:
            await writer.append({"type": "error", "error": error})
        except Exception as err:  # noqa: BLE001 - dead-lettering goes on regardless
            log.warn("could not write the poison error event", err=repr(err))
        await _dead_letter(deps, msg, "max deliveries exceeded")
        await _set_idle(deps, sid, "error", log)
        await msg.term()
        return

    record = await deps.registry.get(sid)
    if record and record.get("cancelRequested"):
        await writer.append({"type": "cancelled", "reason": "cancelled before start"})
        await _finish(msg, deps, sid, "cancelled", log)
        return

    if last:
        await writer.append(
            {"type": "restart", "attempt": attempt, "mode": "rerun", "reason": "worker lost; job redelivered"}
        )
        log.warn("restarting interrupted turn", attempt=attempt, afterSeq=last.event.get("seq"))
    await _registry(deps.registry.set_state(sid, "running"), log)

    run = AgentRun(
        writer,
        _opt(job, "bufferSize", deps.buffer_size),
        _opt(job, "flushIntervalMs", deps.flush_interval_ms),
        log,
    )

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
        outcome = await run.run(deps.builder, job, deps.timeout_ms)
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
    terminal, result = _terminal(outcome, deps.timeout_ms)
    try:
        await pub.push(terminal)
    except Exception as err:  # noqa: BLE001 - the job stays unacked and is redelivered
        log.warn("could not write the terminal event: leaving the job for redelivery", err=repr(err))
        await pub.close()
        return
    await pub.close()
    await _finish(msg, deps, sid, result, log)


def _terminal(outcome: RunOutcome, timeout_ms: int) -> tuple[dict[str, Any], str]:
    """The turn's terminal event and the registry's `lastOutcome` for it."""
    if outcome.abort and outcome.abort.kind == "cancel":
        reason = {"reason": outcome.abort.reason} if outcome.abort.reason else {}
        return {"type": "cancelled", **reason}, "cancelled"
    if outcome.abort and outcome.abort.kind == "timeout":
        message = f"turn exceeded STREAM_TIMEOUT ({timeout_ms} ms)"
        return {"type": "error", "error": {"code": "timeout", "message": message, "retryable": True}}, "error"
    if outcome.error is not None:
        message = (str(outcome.error) or type(outcome.error).__name__)[:2000]
        return {
            "type": "error",
            "error": {"code": "agent_error", "message": message, "retryable": False},
        }, "error"
    duration = round((time.monotonic() - outcome.started) * 1000)
    done = {
        "type": "done",
        "finishReason": outcome.finish_reason,
        "tokens": outcome.tokens,
        "durationMs": duration,
    }
    return done, "done"


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


async def _registry(aw: Any, log: Logger) -> None:
    try:
        await aw
    except Exception as err:  # noqa: BLE001 - the registry is advisory; the log is the truth
        log.warn("registry update failed", err=repr(err))


async def _set_idle(deps: TurnDeps, sid: str, outcome: str, log: Logger) -> None:
    await _registry(deps.registry.set_state(sid, "idle", lastOutcome=outcome, cancelRequested=False), log)


async def _finish(msg: Any, deps: TurnDeps, sid: str, outcome: str, log: Logger) -> None:
    await _set_idle(deps, sid, outcome, log)
    await _ack(msg, log)
    log.info("turn finished", outcome=outcome)


async def _ack(msg: Any, log: Logger) -> None:
    try:
        await msg.ack_sync(timeout=5.0)
    except Exception as err:  # noqa: BLE001 - the terminal event is stored: a redelivery just acks
        log.warn("ack not confirmed", err=repr(err))


async def _dead_letter(deps: TurnDeps, msg: Any, reason: str) -> None:
    agent = msg.subject.rsplit(".", 1)[-1]
    headers = {"Sf-Dead-Reason": reason, "Sf-Deliveries": str(msg.metadata.num_delivered)}
    try:
        await deps.js.publish(dead_letter_subject(agent), msg.data, headers=headers)
    except Exception as err:  # noqa: BLE001
        deps.log.error("dead-letter publish failed", err=repr(err))
