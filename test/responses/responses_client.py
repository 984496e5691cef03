"""The official OpenAI Python SDK against two StreamFabric gateways (driven by responses-python.test.ts).

Streams a background response on gateway A, stops reading after a few deltas, resumes it on gateway B
with `starting_after`, and makes a non-streamed follow-up with `previous_response_id`. Prints one JSON
line for the test to check.
"""

import json
import sys

from openai import OpenAI

a = OpenAI(base_url=f"{sys.argv[1]}/v1", api_key="not-needed", max_retries=0)
b = OpenAI(base_url=f"{sys.argv[2]}/v1", api_key="not-needed", max_retries=0)
options = {"seed": 21, "length": 80, "tokensPerSecond": 100, "flushIntervalMs": 0}

before = []
stream = a.responses.create(
    model="builtin", input="hello from python", stream=True, background=True, extra_body={"streamfabric": options}
)
for event in stream:
    before.append(event)
    if sum(e.type == "response.output_text.delta" for e in before) == 3:
        break
stream.close()
response_id = before[0].response.id
starting_after = before[-1].sequence_number

after = list(b.responses.retrieve(response_id, stream=True, starting_after=starting_after))
follow_up = b.responses.create(model="builtin", input="and then?", previous_response_id=response_id)

deltas = lambda events: "".join(e.delta for e in events if e.type == "response.output_text.delta")  # noqa: E731
print(
    json.dumps(
        {
            "id": response_id,
            "before": [e.sequence_number for e in before],
            "starting_after": starting_after,
            "after": [e.sequence_number for e in after],
            "last": after[-1].type,
            "text": deltas(before) + deltas(after),
            "follow_up": {"previous": follow_up.previous_response_id, "text": follow_up.output_text},
        }
    )
)
