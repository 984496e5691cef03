"""session writer - the wire contract of services/worker/publish/session-writer.ts, against a real
nats-server: headers, contiguous seq, dedupe of retried publishes, fencing, schema validation."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Fabric, new_sid, run

from streamfabric_autogen.core.event_log import EventLog
from streamfabric_autogen.core.session_writer import FencedError, SessionWriter
from streamfabric_autogen.schemas import SchemaError, validate_event, validate_job


def writer(
    f: Fabric, sid: str, last_seq: int = 0, last_stream_seq: int = 0, attempt: int = 1, wid: str = "py-t/1"
) -> SessionWriter:
    return SessionWriter(f.js, EventLog(f.js), "public", sid, wid, attempt, last_seq, last_stream_seq)


def test_writer_stamps_contiguous_seq_and_the_gateway_headers(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid = new_sid()
        w = writer(f, sid)
        for text in ["a", "b"]:
            await w.append({"type": "token", "text": text, "agent": "writer"})
        await w.append({"type": "done", "finishReason": "stop", "tokens": 2, "durationMs": 1})
        stored = await f.stored(sid)
        assert [e["seq"] for e, _ in stored] == [1, 2, 3]
        for ev, h in stored:
            assert ev["sid"] == sid and ev["attempt"] == 1
            assert h["Nats-Msg-Id"] == f"{sid}:{ev['seq']}:{h['Sf-Writer']}"
            assert h["Sf-Seq"] == str(ev["seq"])
            assert h["Sf-Ts"] == str(ev["ts"])
            assert h["Sf-Writer"] == "py-t/1"
        await f.close()

    run(body())


def test_writer_a_retried_publish_of_the_same_event_is_stored_once(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid = new_sid()
        await writer(f, sid).append({"type": "token", "text": "once"})
        # Same attempt, same seq, as if the first ack was lost and the publish retried.
        again = await writer(f, sid).append({"type": "token", "text": "once"})
        assert again["seq"] == 1
        assert len(await f.events(sid)) == 1
        await f.close()

    run(body())


def test_writer_is_fenced_when_another_writer_moved_the_log_on(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid = new_sid()
        zombie = writer(f, sid, wid="zombie/1")
        await zombie.append({"type": "token", "text": "a"})
        # A new owner (attempt 2) continues from the log.
        last = await EventLog(f.js).last("public", sid)
        owner = writer(f, sid, last_seq=1, last_stream_seq=last.stream_seq, attempt=2, wid="owner/2")
        await owner.append({"type": "restart", "attempt": 2, "mode": "rerun", "reason": "worker lost"})
        with pytest.raises(FencedError):
            await zombie.append({"type": "token", "text": "stale"})
        assert zombie.is_fenced
        with pytest.raises(FencedError):  # and stays fenced
            await zombie.append({"type": "token", "text": "stale again"})
        assert [(e["seq"], e["attempt"]) for e in await f.events(sid)] == [(1, 1), (2, 2)]
        await f.close()

    run(body())


def test_writer_refuses_an_event_the_protocol_schema_rejects(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid = new_sid()
        w = writer(f, sid)
        with pytest.raises(SchemaError, match="agent"):
            await w.append({"type": "message", "text": "who said this?"})  # message needs `agent`
        with pytest.raises(SchemaError):
            await w.append(
                {"type": "error", "error": {"code": "not_a_code", "message": "x", "retryable": False}}
            )
        assert await f.events(sid) == [] and w.last_seq == 0
        await f.close()

    run(body())


JOB = {
    "v": 1,
    "sid": "s_12345678",
    "tenant": "public",
    "user": "u",
    "agent": "a",
    "input": "x",
    "createdAt": 1,
}


def test_schemas_job_defaults_are_applied_and_bad_jobs_rejected() -> None:
    job = validate_job(dict(JOB))
    assert job["options"] == {} and job["turn"] == 1
    with pytest.raises(SchemaError, match="sid"):
        validate_job({**JOB, "sid": "bad sid"})
    with pytest.raises(SchemaError):
        validate_job({**JOB, "extra": 1})  # jobs are strict: unknown keys are refused
    validate_event({"type": "token", "sid": "s_12345678", "seq": 1, "ts": 1, "text": "t", "agent": "writer"})
    with pytest.raises(SchemaError):
        validate_event({"type": "token", "sid": "s_12345678", "seq": 0, "ts": 1, "text": "t"})


def test_writer_an_answer_adopted_while_a_write_was_in_flight_is_not_a_rival(nats_url: str) -> None:
    """The race a rerun's ask() runs: the input broker adopts the gateway's `input` between the
    writer choosing its seq and its publish reaching the server (as in writer tests of the TS
    worker, services/worker/publish/session-writer.test.ts). The refused write follows the answer."""

    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid = new_sid()
        request_id = f"{sid}.t1.q1"
        hook: list[Any] = []

        class Racing:
            """The writer's JetStream context, letting the gateway answer just before a publish."""

            async def publish(self, *args: Any, **kwargs: Any) -> Any:
                while hook:
                    await hook.pop()()
                return await f.js.publish(*args, **kwargs)

        w = SessionWriter(Racing(), EventLog(f.js), "public", sid, "py-t/1", 1, 0, 0)
        w.expect_answer(request_id)
        await w.append({"type": "user_message", "text": "book it"})
        asked = await w.append({"type": "input_request", "requestId": request_id, "prompt": "Book it?"})

        async def gateway_answers() -> None:
            answer = f._draft(sid, asked["seq"] + 1, "input", requestId=request_id, text="yes")
            stream_seq = await f.append_fenced(sid, answer, w._last_stream_seq)
            w.adopt(asked["seq"] + 1, stream_seq)  # what the input broker does when it sees it

        hook.append(gateway_answers)
        token = await w.append({"type": "token", "text": "Booked"})
        assert token["seq"] == asked["seq"] + 2
        assert [e["type"] for e in await f.events(sid)] == ["user_message", "input_request", "input", "token"]
        await f.close()

    run(body())
