"""turns - conversations through a real bridge and nats-server: each turn starts at its
`user_message`, the agents get the earlier turns rebuilt from the log, and a job is checked
against the log before anything is written (turn-state.ts's rules)."""

from __future__ import annotations

import json
from typing import Any

from builders import assistant
from helpers import Fabric, assert_contiguous, new_agent, new_sid, run, running_bridge, wait_for

from streamfabric_autogen.core.event_log import READ_BATCH, EventLog
from streamfabric_autogen.subjects import JOBS_STREAM, worker_consumer_name


async def acked(f: Fabric, agent: str) -> bool:
    info = await f.js._jsm.consumer_info(JOBS_STREAM, worker_consumer_name(agent))
    return info.num_pending == 0 and info.num_ack_pending == 0


def prompt_of(messages: Any) -> list[tuple[str, str]]:
    return [(getattr(m, "source", "system"), str(m.content)) for m in messages]


def test_turns_a_follow_up_turn_gets_the_conversation_so_far_from_the_log(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        prompts: list[list[tuple[str, str]]] = []

        def build(job: dict[str, Any]) -> Any:
            def answer(messages: Any) -> str:
                prompts.append(prompt_of(messages))
                return f"answer {job['turn']}"

            return assistant(answer)  # type: ignore[arg-type]

        async with running_bridge(nats_url, agent, build):
            sid = await f.start(agent, "first question")
            await f.finished(sid)
        # Turn 2 runs on another bridge: all it knows comes from the log.
        async with running_bridge(nats_url, agent, build):
            assert await f.follow_up(agent, sid, "second question") == 2
            await wait_for(lambda: _turns_done(f, sid, 2), what="turn 2 to end")
        events = await f.events(sid)
        assert_contiguous(events)
        assert not any(e["type"] == "restart" for e in events)
        assert [e["type"] for e in events if e["type"] in ("user_message", "done")] == [
            "user_message",
            "done",
            "user_message",
            "done",
        ]
        assert {e["attempt"] for e in events if e["type"] != "user_message"} == {1}
        assert [e["text"] for e in events if e["type"] == "message"] == ["answer 1", "answer 2"]
        # What the model was given on turn 2: turn 1's question and answer, then the new question.
        assert prompts[1][1:] == [
            ("user", "first question"),
            ("assistant", "answer 1"),
            ("user", "second question"),
        ]
        await f.close()

    run(body())


def test_turns_a_job_whose_message_is_not_in_the_log_writes_it_first(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, lambda: assistant("ok")):
            sid = await f.start(agent, "queued without a log entry", log_message=False)
            events = await f.finished(sid)
        assert_contiguous(events)
        assert events[0]["type"] == "user_message" and events[0]["text"] == "queued without a log entry"
        assert events[0]["user"] == "tester" and events[0]["attempt"] == 1
        assert [e["type"] for e in events[1:]] == ["token", "message", "usage", "done"]
        await f.close()

    run(body())


def test_turns_a_job_that_does_not_fit_the_log_is_acked_without_writing(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        sid = new_sid()
        async with running_bridge(nats_url, agent, lambda: assistant("never")) as b:
            await f.append_fenced(sid, f._draft(sid, 1, "user_message", text="hi"), 0)
            await f.queue(agent, sid, "turn three?", 3)
            await wait_for(lambda: acked(f, agent), what="the job to be dropped")
            assert b.logged("job does not fit the log: dropped")
        assert [e["type"] for e in await f.events(sid)] == ["user_message"]
        await f.close()

    run(body())


def test_turns_a_conversation_past_max_history_tokens_is_trimmed_not_stopped(nats_url: str) -> None:
    """Past MAX_HISTORY_TOKENS the oldest turns leave the agents' view and the turn is answered
    (docs/conversations.md); only a message that alone exceeds the limit ends with limit_exceeded."""

    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(
            nats_url, agent, lambda: assistant("a long enough answer"), max_history_tokens=8
        ) as b:
            sid = await f.start(agent, "short")
            await f.finished(sid)
            await f.follow_up(agent, sid, "one more")
            await wait_for(lambda: _turns_done(f, sid, 2), what="turn 2 to end")
            assert (await f.events(sid))[-1]["type"] == "done"
            assert b.logged("history trimmed to MAX_HISTORY_TOKENS")
            await f.follow_up(agent, sid, "x" * 40)
            await wait_for(lambda: _turns_done(f, sid, 3), what="turn 3 to end")
        last = (await f.events(sid))[-1]
        assert last["type"] == "error" and last["error"]["code"] == "limit_exceeded"
        assert (await f.record(sid))["lastOutcome"] == "error"
        await f.close()

    run(body())


def test_turns_read_all_pages_through_a_long_log_in_order(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        sid, other = new_sid(), new_sid()
        n = READ_BATCH * 2 + 7
        for seq in range(1, n + 1):
            # Another session's events in between: next_by_subj must skip them.
            await f.append_raw(sid, {"sid": sid, "seq": seq, "ts": 1, "type": "token", "text": str(seq)})
            if seq % 100 == 0:
                await f.append_raw(
                    other, {"sid": other, "seq": seq // 100, "ts": 1, "type": "token", "text": "x"}
                )
        events, last_stream_seq = await EventLog(f.js).read_all("public", sid)
        assert [e["seq"] for e in events] == list(range(1, n + 1))
        assert last_stream_seq == (await EventLog(f.js).last("public", sid)).stream_seq
        assert await EventLog(f.js).read_all("public", new_sid()) == ([], 0)
        # Not JSON, or not an event: skipped, as the TypeScript reader's safeParse skips it.
        await f.js.publish(f"fabric.ev.public.{sid}", b"not json", headers={"Sf-Seq": str(n + 1)})
        await f.js.publish(f"fabric.ev.public.{sid}", json.dumps({"x": 1}).encode())
        assert len((await EventLog(f.js).read_all("public", sid))[0]) == n
        await f.close()

    run(body(), timeout=120)


async def _turns_done(f: Fabric, sid: str, n: int) -> bool:
    return sum(1 for e in await f.events(sid) if e["type"] in ("done", "error", "cancelled")) >= n
