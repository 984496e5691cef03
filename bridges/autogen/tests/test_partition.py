"""The bridge computes a session's partition exactly as shared/nats/subjects.ts does: both test
suites read the same vectors (shared/nats/partition-vectors.json)."""

import json
from pathlib import Path

from streamfabric_autogen import subjects

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "nats" / "partition-vectors.json"


def test_fnv1a32_and_partitions_match_the_shared_vectors() -> None:
    data = json.loads(VECTORS.read_text())
    assert subjects.fnv1a32("a") == 0xE40C292C
    for v in data["vectors"]:
        assert subjects.fnv1a32(v["sid"]) == v["fnv1a32"], v["sid"]
        for p, want in v["partitions"].items():
            assert subjects.partition_of(v["sid"], int(p)) == want, (v["sid"], p)


def test_names_at_p1_and_p3() -> None:
    try:
        subjects.set_partition_layout(1)
        assert subjects.events_subject("t1", "s_abc") == "fabric.ev.t1.s_abc"
        assert subjects.job_subject("team", "s_abc") == "fabric.jobs.team"
        assert subjects.events_stream("s_abc") == "FABRIC_EVENTS"
        subjects.set_partition_layout(3, [1, 3])
        assert subjects.events_subject("t1", "s_abc") == "fabric.ev.t1.s_abc.2"
        assert subjects.job_subject("team", "s_abc") == "fabric.jobs.team.2"
        assert subjects.events_stream("s_abc") == "FABRIC_EVENTS_2"
        assert subjects.sessions_bucket("s_abc") == "fabric_sessions_2"
        subjects.note_session_layout("s_abc", 1)
        assert subjects.events_subject("t1", "s_abc") == "fabric.ev.t1.s_abc"
    finally:
        subjects.set_partition_layout(1)
