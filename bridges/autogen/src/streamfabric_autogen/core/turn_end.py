"""How a delivery ends: the terminal event of a run, the registry's `idle` state, the ack, a job
handed back or dead-lettered (the rules of services/worker/jobs/run-turn.ts and turn-outcome.ts)."""

from __future__ import annotations

import time
from typing import Any

from ..log import Logger
from ..subjects import dead_letter_subject
from .agent_run import RunOutcome
from .errors import public_message
from .registry import SessionRegistry


def terminal_event(outcome: RunOutcome, timeout_ms: int) -> tuple[dict[str, Any], str]:
    """The turn's terminal event and the registry's `lastOutcome` for it."""
    abort = outcome.abort
    if abort and abort.kind == "cancel":
        reason = {"reason": abort.reason} if abort.reason else {}
        return {"type": "cancelled", **reason}, "cancelled"
    if abort and abort.kind == "timeout":
        message = f"turn exceeded STREAM_TIMEOUT ({timeout_ms} ms)"
        return {"type": "error", "error": {"code": "timeout", "message": message, "retryable": True}}, "error"
    if abort and abort.kind == "input_timeout":
        message = abort.reason or "no answer from the user before the deadline"
        return {
            "type": "error",
            "error": {"code": "input_timeout", "message": message, "retryable": False},
        }, "error"
    if outcome.error is not None:
        return {
            "type": "error",
            "error": {"code": "agent_error", "message": public_message(outcome.error), "retryable": False},
        }, "error"
    duration = round((time.monotonic() - outcome.started) * 1000)
    done = {
        "type": "done",
        "finishReason": outcome.finish_reason,
        "tokens": outcome.tokens,
        "durationMs": duration,
    }
    return done, "done"


async def registry_update(aw: Any, log: Logger) -> None:
    try:
        await aw
    except Exception as err:  # noqa: BLE001 - the registry is advisory; the log is the truth
        log.warn("registry update failed", err=repr(err))


async def set_idle(registry: SessionRegistry, sid: str, outcome: str, log: Logger) -> None:
    await registry_update(registry.set_state(sid, "idle", lastOutcome=outcome, cancelRequested=False), log)


async def finish(msg: Any, registry: SessionRegistry, sid: str, outcome: str, log: Logger) -> None:
    """The terminal event is stored: the session goes idle and the job is acked."""
    await set_idle(registry, sid, outcome, log)
    await ack(msg, log)
    log.info("turn finished", outcome=outcome)


async def ack(msg: Any, log: Logger) -> None:
    try:
        await msg.ack_sync(timeout=5.0)
    except Exception as err:  # noqa: BLE001 - the terminal event is stored: a redelivery just acks
        log.warn("ack not confirmed", err=repr(err))


async def dead_letter(js: Any, msg: Any, reason: str, log: Logger) -> None:
    agent = msg.subject.rsplit(".", 1)[-1]
    headers = {"Sf-Dead-Reason": reason, "Sf-Deliveries": str(msg.metadata.num_delivered)}
    try:
        await js.publish(dead_letter_subject(agent), msg.data, headers=headers)
    except Exception as err:  # noqa: BLE001
        log.error("dead-letter publish failed", err=repr(err))
