"""human - human in the loop through a real bridge and nats-server: a UserProxyAgent's question is
an `input_request` answered by an `input` event in the log (as input-broker.ts), durable across a
lost bridge; a Swarm's handoff to the user ends the turn and the next message resumes it."""

from __future__ import annotations

from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from helpers import Fabric, assert_contiguous, new_agent, run, running_bridge, wait_for

from streamfabric_autogen import demo, input_func


def kinds(events: list[dict[str, Any]]) -> list[str]:
    """Event types with the speaker, tokens of one speaker collapsed: a readable log."""
    out: list[str] = []
    for e in events:
        label = e["type"] + (f"({e['agent']})" if e.get("agent") else "")
        if e["type"] == "token" and out and out[-1] == label:
            continue
        out.append(label)
    return out


async def question(f: Fabric, sid: str, n: int = 1) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        asked = [e for e in await f.events(sid) if e["type"] == "input_request"]
        return asked[n - 1] if len(asked) >= n else None

    return await wait_for(check, what=f"input_request #{n}")


async def plan_a_trip(
    f: Fabric, agent: str, options: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Starts a concierge session; returns its sid once the customer's question is in the log."""
    sid = await f.start(agent, "plan a trip", options=options)
    return sid, await question(f, sid)


async def state_is(f: Fabric, sid: str, state: str) -> bool:
    return (await f.record(sid))["state"] == state


def test_human_a_user_proxy_asks_and_the_answer_from_the_log_goes_on_with_the_turn(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, demo.concierge):
            sid, req = await plan_a_trip(f, agent)
            await wait_for(lambda: state_is(f, sid, "waiting_for_input"), what="waiting_for_input")
            assert req["agent"] == "customer" and req["prompt"] == "Enter your response: "
            assert req["requestId"] == f"{sid}.t1.q1" and req["deadline"] > req["ts"]
            await f.answer(sid, req["requestId"], "Lisbon")
            events = await f.finished(sid)
        assert_contiguous(events)
        # The guide's question is written before the input_request, the answer is the proxy's message.
        assert kinds(events) == [
            "user_message",
            "token(guide)",
            "message(guide)",
            "input_request(customer)",
            "input",
            "message(customer)",
            "token(guide)",
            "message(guide)",
            "usage",
            "done",
        ]
        said = [(e["agent"], e["role"], e["text"]) for e in events if e["type"] == "message"]
        assert said == [
            ("guide", "assistant", "Where would you like to go?"),
            ("customer", "user", "Lisbon"),
            ("guide", "assistant", "Noted. So far: user: plan a trip; customer: Lisbon. TERMINATE"),
        ]
        assert (await f.record(sid))["state"] == "idle"
        await f.close()

    run(body())


def test_human_a_bridge_lost_while_waiting_is_replaced_by_one_that_does_not_ask_twice(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, demo.concierge):
            sid, req = await plan_a_trip(f, agent)
        # The first bridge is gone (its job handed back); a second one reruns the turn and waits on
        # the same question: its rerun of the guide ends where the question is.
        async with running_bridge(nats_url, agent, demo.concierge):
            await wait_for(lambda: _count(f, sid, "message", 2), what="the rerun's guide message")
            await wait_for(lambda: state_is(f, sid, "waiting_for_input"), what="the second bridge to wait")
            await f.answer(sid, req["requestId"], "Porto")
            events = await f.finished(sid)
        assert_contiguous(events)
        assert [e["requestId"] for e in events if e["type"] == "input_request"] == [req["requestId"]]
        restart = next(e for e in events if e["type"] == "restart")
        # Usually attempt 2; 3 when a loaded machine let one more ack deadline pass meanwhile.
        assert restart["mode"] == "rerun" and restart["attempt"] >= 2
        assert events[-2]["type"] == "usage" and events[-1]["type"] == "done"
        assert "customer: Porto" in [e for e in events if e["type"] == "message"][-1]["text"]
        await f.close()

    run(body())


def test_human_an_answer_that_races_a_rerun_is_adopted_by_that_attempt(
    nats_url: str,
) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        slow = {"tokensPerSecond": 4}  # the guide's question takes over a second to stream
        async with running_bridge(nats_url, agent, demo.concierge):
            sid, req = await plan_a_trip(f, agent, slow)
        async with running_bridge(nats_url, agent, demo.concierge, ack_wait_ms=1000) as b:
            # The user answers while the second bridge is still re-streaming the guide's question:
            # the gateway's `input` takes the next seq, so the bridge's next write is refused. The
            # bridge adopts that answer and writes on after it, in the same attempt.
            await wait_for(lambda: _rerun_started(f, sid), what="the rerun's first token")
            await f.answer(sid, req["requestId"], "Braga")
            events = await f.finished(sid, timeout=40)
            assert not b.logged("turn stopped without finishing: another worker will resume it")
        assert_contiguous(events)
        assert sum(1 for e in events if e["type"] == "input_request") == 1
        assert sum(1 for e in events if e["type"] == "input") == 1
        assert [e["attempt"] for e in events if e["type"] == "restart"] == [2]
        # Written after the answer: the rest of the rerun, in the same attempt (not a rival's).
        after = events[[e["type"] for e in events].index("input") + 1 :]
        assert after and all(e["attempt"] == 2 for e in after)
        assert "customer: Braga" in [e for e in events if e["type"] == "message"][-1]["text"]
        await f.close()

    run(body())


def test_human_an_answer_given_while_no_bridge_runs_is_found_in_the_log(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, demo.concierge):
            sid, req = await plan_a_trip(f, agent)
        await f.answer(sid, req["requestId"], "Faro")  # nobody is waiting right now
        async with running_bridge(nats_url, agent, demo.concierge):
            events = await f.finished(sid)
        assert_contiguous(events)
        assert sum(1 for e in events if e["type"] == "input_request") == 1
        types = [e["type"] for e in events]
        assert types.index("input") < types.index("restart")
        assert "customer: Faro" in [e for e in events if e["type"] == "message"][-1]["text"]
        await f.close()

    run(body())


def test_human_a_question_nobody_answers_ends_the_turn_with_input_timeout(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, demo.concierge, input_timeout_ms=400):
            sid = await f.start(agent, "plan a trip")
            events = await f.finished(sid)
            await wait_for(lambda: state_is(f, sid, "idle"), what="idle")
        assert_contiguous(events)
        assert events[-2]["type"] == "input_request" and events[-1]["type"] == "error"
        assert events[-1]["error"]["code"] == "input_timeout" and events[-1]["error"]["retryable"] is False
        assert (await f.record(sid))["lastOutcome"] == "error"
        await f.close()

    run(body())


def test_human_cancel_while_waiting_for_the_user_ends_the_turn_with_cancelled(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, demo.concierge):
            sid = await f.start(agent, "plan a trip")
            await question(f, sid)
            await wait_for(lambda: state_is(f, sid, "waiting_for_input"), what="waiting_for_input")
            await f.cancel(sid, "changed my mind")
            events = await f.finished(sid)
            await wait_for(lambda: state_is(f, sid, "idle"), what="idle")
        assert_contiguous(events)
        assert [e["type"] for e in events[-2:]] == ["input_request", "cancelled"]
        assert (await f.record(sid))["lastOutcome"] == "cancelled"
        await f.close()

    run(body())


def test_human_input_func_asks_the_user_from_a_tool(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()

        def build() -> Any:
            ask = input_func("clerk", options=["yes", "no"])

            async def confirm(question: str) -> str:
                """Asks the user to confirm."""
                return await ask(question)

            call = FunctionCall(id="c1", name="confirm", arguments='{"question": "Ship it?"}')
            usage = RequestUsage(prompt_tokens=1, completion_tokens=1)
            first = CreateResult(finish_reason="function_calls", content=[call], usage=usage, cached=False)
            client = demo._replay_client([first, "Shipping as you said."], 0, demo.tool_model_info())
            return AssistantAgent(
                "clerk",
                model_client=client,
                tools=[confirm],
                model_client_stream=True,
                reflect_on_tool_use=True,
            )

        async with running_bridge(nats_url, agent, build):
            sid = await f.start(agent, "ship my order")
            req = await question(f, sid)
            assert (req["agent"], req["prompt"], req["options"]) == ("clerk", "Ship it?", ["yes", "no"])
            await f.answer(sid, req["requestId"], "yes")
            events = await f.finished(sid)
        assert_contiguous(events)
        assert kinds(events)[:5] == [
            "user_message",
            "tool_call(clerk)",
            "input_request(clerk)",
            "input",
            "tool_result(clerk)",
        ]
        assert next(e for e in events if e["type"] == "tool_result")["result"] == "yes"
        assert events[-1]["type"] == "done"
        await f.close()

    run(body())


def test_human_a_follow_up_turn_of_the_concierge_sees_the_answer_of_the_first(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, demo.concierge):
            sid = await f.start(agent, "plan a trip")
            await f.answer(sid, (await question(f, sid))["requestId"], "Lisbon")
            await f.finished(sid)
            await f.follow_up(agent, sid, "what did I book?")
            await wait_for(lambda: _count(f, sid, "done", 2), what="turn 2 to end")
        events = await f.events(sid)
        assert_contiguous(events)
        turn2 = events[max(i for i, e in enumerate(events) if e["type"] == "user_message") :]
        # The history holds the customer's answer and a guide message saying TERMINATE, yet turn 2
        # runs (its termination sees only this turn) and needs no new question.
        assert kinds(turn2) == ["user_message", "token(guide)", "message(guide)", "usage", "done"]
        assert next(e for e in turn2 if e["type"] == "message")["text"] == (
            "Noted. So far: user: plan a trip; customer: Lisbon; user: what did I book?. TERMINATE"
        )
        await f.close()

    run(body())


def test_human_a_swarm_handoff_to_the_user_ends_the_turn_and_the_next_message_resumes_it(
    nats_url: str,
) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, demo.desk):
            sid = await f.start(agent, "refund my flight")
            turn1 = await f.finished(sid)
            assert kinds(turn1) == [
                "user_message",
                "tool_call(desk)",
                "tool_result(desk)",
                "message(desk)",
                "usage",
                "done",
            ]
            handoff = turn1[3]
            assert (
                handoff["role"] == "system" and handoff["text"] == "Which booking reference should I refund?"
            )
            assert turn1[-1]["finishReason"] == "handoff"
            assert (await f.record(sid))["state"] == "idle"  # no worker is held while the user thinks
            await f.follow_up(agent, sid, "ABC123")
            await wait_for(lambda: _count(f, sid, "done", 2), what="turn 2 to end")
        events = await f.events(sid)
        assert_contiguous(events)
        answer = [e for e in events if e["type"] == "message"][-1]
        assert (answer["agent"], answer["text"]) == ("desk", "Refund of booking ABC123 approved. TERMINATE")
        assert events[-1]["type"] == "done" and events[-1]["finishReason"] != "handoff"
        await f.close()

    run(body())


async def _count(f: Fabric, sid: str, kind: str, n: int) -> bool:
    return sum(1 for e in await f.events(sid) if e["type"] == kind) >= n


async def _rerun_started(f: Fabric, sid: str) -> bool:
    types = [e["type"] for e in await f.events(sid)]
    return "restart" in types and "token" in types[types.index("restart") :]
