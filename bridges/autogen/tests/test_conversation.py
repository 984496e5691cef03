"""conversation - what a log means to the bridge (no NATS): the fold ported from
shared/protocol/conversation.ts, the turn-state decision of turn-state.ts, and the history an
AutoGen agent or team is given for a follow-up turn."""

from __future__ import annotations

from typing import Any

import pytest
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.messages import HandoffMessage, TextMessage
from builders import two_agent_team
from helpers import run

from streamfabric_autogen import user_proxy
from streamfabric_autogen.adapters.agentchat_history import scope_termination, task_messages
from streamfabric_autogen.adapters.agentchat_mapping import AutoGenMapper, Event
from streamfabric_autogen.core.conversation import estimate_tokens, fold_conversation, pending_input
from streamfabric_autogen.core.turn_state import turn_state_of

SID = "s_conv"


def log(*drafts: dict[str, Any]) -> list[dict[str, Any]]:
    """Stamps drafts with sid and contiguous seq, as a log holds them."""
    return [{"sid": SID, "seq": i + 1, "ts": 1, **d} for i, d in enumerate(drafts)]


def user(text: str) -> dict[str, Any]:
    return {"type": "user_message", "text": text}


def msg(agent: str, text: str, role: str = "assistant", attempt: int = 1) -> dict[str, Any]:
    return {"type": "message", "agent": agent, "text": text, "role": role, "attempt": attempt}


def done(reason: str = "stop", attempt: int = 1) -> dict[str, Any]:
    return {"type": "done", "finishReason": reason, "tokens": 1, "durationMs": 1, "attempt": attempt}


def token(text: str, attempt: int = 1) -> dict[str, Any]:
    return {"type": "token", "text": text, "attempt": attempt}


def test_conversation_turn_state_decides_like_the_typescript_worker() -> None:
    one_turn = log(user("hi"), token("hello"), msg("a", "hello"), done())
    cases = [
        (log(user("hi")), 1, "fresh"),
        ([], 1, "needs_user_message"),
        (one_turn, 2, "needs_user_message"),
        (one_turn, 1, "finished"),
        (one_turn, 3, "conflict"),
        (log(user("hi"), token("hel")), 2, "conflict"),  # turn 1 still open: turn 2 cannot start
        (log(user("hi"), token("hel")), 1, "interrupted"),
        (log(user("hi"), done(), user("more")), 1, "finished"),  # a later turn exists
    ]
    for events, turn, status in cases:
        assert turn_state_of(events, 7, turn).status == status, (events, turn)
    st = turn_state_of(log(user("hi"), done(), user("more")), 9, 2)
    assert (st.status, st.last_seq, st.last_stream_seq, [t.user for t in st.history]) == (
        "fresh",
        3,
        9,
        ["hi"],
    )


def test_conversation_attempts_are_counted_per_turn() -> None:
    # Turn 1 was restarted once (attempt 3 after two lost deliveries) and is interrupted again.
    restart = {"type": "restart", "attempt": 3, "mode": "rerun", "reason": "lost"}
    st = turn_state_of(log(user("a"), token("x", 1), {**restart, "attempt": 3}), 3, 1)
    assert st.status == "interrupted" and st.last_attempt == 3 and st.attempt_for(2) == 4
    # Turn 2 starts again at attempt 1 on its first delivery.
    fresh2 = turn_state_of(log(user("a"), done(attempt=3), user("b")), 3, 2)
    assert fresh2.status == "fresh" and fresh2.attempt_for(1) == 1 and fresh2.attempt_for(2) == 2
    # An interrupted turn whose events carry no attempt (only the gateway wrote) still restarts at 2+.
    no_attempt = turn_state_of(log(user("a"), {"type": "input", "requestId": "q", "text": "t"}), 2, 1)
    assert no_attempt.status == "interrupted" and no_attempt.attempt_for(1) == 2


def test_conversation_fold_rerun_discards_the_attempt_and_keeps_questions() -> None:
    conv = fold_conversation(
        log(
            user("plan"),
            token("Where"),
            msg("guide", "Where?"),
            {
                "type": "input_request",
                "requestId": "q1",
                "prompt": "Enter",
                "agent": "customer",
                "attempt": 1,
            },
            {"type": "restart", "attempt": 2, "mode": "rerun", "reason": "lost"},
            token("Where", 2),
            msg("guide", "Where?", attempt=2),
        )
    )
    t = conv.turns[0]
    assert t.assistant == "Where" and [m.text for m in t.messages] == ["Where?"]
    assert pending_input(conv) is not None and pending_input(conv).request_id == "q1"
    answered = fold_conversation(
        log(
            user("p"),
            {"type": "input_request", "requestId": "q1", "prompt": "?"},
            {"type": "input", "requestId": "q1", "text": "yes"},
        )
    )
    assert pending_input(answered) is None and answered.turns[0].inputs[0].answer == "yes"
    assert estimate_tokens(answered.turns, "abcd") == 2  # ("p" + "" + "abcd") / 4, rounded up


def test_conversation_history_becomes_autogen_messages_with_their_speakers() -> None:
    conv = fold_conversation(
        log(
            user("plan a trip"),
            msg("guide", "Where?"),
            msg("customer", "Lisbon", role="user"),
            msg("guide", "Noted"),
            done(),
            user("and a hotel?"),
            token("streamed only"),
            done(),
        )
    )
    task = task_messages(conv.turns, "what did I book?")
    assert all(isinstance(m, TextMessage) for m in task)
    assert [(m.source, m.content) for m in task] == [
        ("user", "plan a trip"),
        ("guide", "Where?"),
        ("customer", "Lisbon"),
        ("guide", "Noted"),
        ("user", "and a hotel?"),
        ("assistant", "streamed only"),  # a turn with no message events: its streamed text
        ("user", "what did I book?"),
    ]


def test_conversation_a_turn_handed_to_the_user_resumes_at_the_agent_that_handed_off() -> None:
    conv = fold_conversation(
        log(user("refund"), msg("desk", "Which booking?", role="system"), done("handoff"))
    )
    task = task_messages(conv.turns, "ABC123")
    assert [(type(m).__name__, m.source, m.content) for m in task] == [
        ("TextMessage", "user", "refund"),
        ("HandoffMessage", "user", "ABC123"),
    ]
    assert isinstance(task[-1], HandoffMessage) and task[-1].target == "desk"


async def _team_messages(team: Any, task: list[Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    async for item in team.run_stream(task=task, output_task_messages=False):
        for o in AutoGenMapper().map(item):
            if isinstance(o, Event) and o.draft["type"] == "message":
                out.append((o.draft["agent"], o.draft["text"]))
    return out


def test_conversation_history_does_not_count_towards_the_team_termination() -> None:
    history = [
        TextMessage(source="user", content="earlier"),
        TextMessage(source="writer", content="TERMINATE"),
    ] * 3
    task = [*history, TextMessage(source="user", content="now")]
    # Without scoping, six history messages exhaust MaxMessageTermination(3) before anyone speaks.
    unscoped = two_agent_team(["w1"], ["c1"])
    unscoped._termination_condition = MaxMessageTermination(3)
    assert run(_team_messages(unscoped, task)) == []
    # Scoped, the turn counts as on a first turn: the new message plus two answers.
    scoped = two_agent_team(["w1"], ["c1"])
    scoped._termination_condition = MaxMessageTermination(3)
    assert scope_termination(scoped, len(history))
    assert run(_team_messages(scoped, task)) == [("writer", "w1"), ("critic", "c1")]
    # A text mention in the history does not end the new turn either.
    mention = two_agent_team(["w1", "w2 TERMINATE"], ["c1"])
    mention._termination_condition = TextMentionTermination("TERMINATE")
    assert scope_termination(mention, len(history))
    assert run(_team_messages(mention, task)) == [
        ("writer", "w1"),
        ("critic", "c1"),
        ("writer", "w2 TERMINATE"),
    ]


def test_conversation_user_proxy_outside_a_bridge_job_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="inside your builder"):
        user_proxy("customer")


def test_conversation_snapshot_json_round_trips_and_continues_like_the_log() -> None:
    """A snapshot (conversation_to_json) folded on with the tail equals the fold of the whole log,
    and its JSON matches the schema the TypeScript side validates snapshots with."""
    from jsonschema import Draft202012Validator

    from streamfabric_autogen.core.conversation import apply_event
    from streamfabric_autogen.core.snapshots import conversation_from_json, conversation_to_json
    from streamfabric_autogen.schemas import load_schema

    events = log(
        user("plan"),
        {"type": "input_request", "requestId": "q1", "prompt": "where?", "options": ["a", "b"]},
        {"type": "input", "requestId": "q1", "text": "a"},
        msg("guide", "ok", role="assistant"),
        done("handoff"),
        user("more"),
        token("x"),
        token("y"),
        done(),
    )
    head, tail = events[:5], events[5:]
    snap = conversation_to_json(fold_conversation(head))
    envelope = {
        "v": 1,
        "tenant": "public",
        "sid": "s_conv_snapshot",
        "seq": 5,
        "streamSeq": 5,
        "writtenAt": 0,
    }
    Draft202012Validator(load_schema("conversation-snapshot")).validate({**envelope, "conversation": snap})
    conv = conversation_from_json(snap)
    for ev in tail:
        apply_event(conv, ev)
    assert conversation_to_json(conv) == conversation_to_json(fold_conversation(events))
    assert conv.turns[0].finish_reason == "handoff" and conv.turns[0].inputs[0].answer == "a"


def test_conversation_trim_history_drops_the_oldest_whole_turns() -> None:
    from streamfabric_autogen.core.conversation import trim_history

    events = log(user("a" * 40), token("b" * 40), done(), user("c" * 40), token("d" * 40), done())
    turns = fold_conversation(events).turns
    assert trim_history(turns, "e", 1000) == turns
    kept = trim_history(turns, "e", 25)
    assert kept == turns[1:]
    assert trim_history(turns, "e" * 400, 25) is None
