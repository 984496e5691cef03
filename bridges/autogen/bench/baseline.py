"""Baseline for `npm run bench:bridge`: the same AutoGen workload with no bridge (run_stream consumed
and discarded), so the bridge's own cost per token is the difference. Prints one JSON object."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from streamfabric_autogen import demo


async def one(words: int, i: int) -> int:
    agent = demo.assistant({"input": f"bench {i}", "options": {"length": words}})
    chunks = 0
    async for item in agent.run_stream(task=f"bench {i}"):
        if getattr(item, "type", None) == "ModelClientStreamingChunkEvent":
            chunks += 1
    return chunks


async def main(sessions: int, words: int) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    chunks = sum(await asyncio.gather(*(one(words, i) for i in range(sessions))))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"chunks": chunks, "wallMs": round(wall * 1000), "cpuMs": round(cpu * 1000)}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
