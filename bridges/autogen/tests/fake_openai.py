"""A small OpenAI-compatible Chat Completions server (SSE streaming, tool calls) for the Python
tests: the frameworks' own OpenAI clients talk real HTTP to it, no API key. The TypeScript tests
use test/openai/fake-openai-server.ts, which plays the same wire format.

Answers are scripted by the last user message: `script(prompt, *answers)`, the n-th request for a
prompt plays answers[n] (the last repeats); an answer is a list of text tokens or a dict
{"tool_calls": [{"id", "name", "arguments"}]}. Other prompts get "echo: <prompt>" word by word.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAi:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Any]] = {}
        self.requests: list[dict[str, Any]] = []
        #: Prompts whose streamed answer the client hung up on before it was complete.
        self.hung_up: list[str] = []
        self.token_delay_s = 0.0
        #: Answer to unscripted prompts (None: "echo: <prompt>").
        self.default_answer: list[str] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                fake._answer(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, prompt: str, *answers: Any) -> None:
        self.scripts[prompt] = list(answers)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        prompt = str(users[-1].get("content", "")) if users else ""
        attempt = sum(1 for r in self.requests if r["prompt"] == prompt)
        self.requests.append({"prompt": prompt, "body": body})
        echo = f"echo: {prompt}".split(" ")
        default = self.default_answer or [w if i == 0 else " " + w for i, w in enumerate(echo)]
        answers = self.scripts.get(prompt) or [default]
        answer = answers[min(attempt, len(answers) - 1)]
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.end_headers()
        meta = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "m"),
        }

        def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {**meta, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            h.wfile.flush()

        try:
            send({"role": "assistant", "content": ""})
            calls = answer.get("tool_calls", []) if isinstance(answer, dict) else []
            for tok in [] if isinstance(answer, dict) else answer:
                if self.token_delay_s:
                    time.sleep(self.token_delay_s)
                send({"content": tok})
            for i, c in enumerate(calls):
                send(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": c["id"],
                                "type": "function",
                                "function": {"name": c["name"], "arguments": ""},
                            }
                        ]
                    }
                )
                send({"tool_calls": [{"index": i, "function": {"arguments": c["arguments"]}}]})
            send({}, "tool_calls" if calls else "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {
                    **meta,
                    "choices": [],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
                }
                h.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
            h.wfile.write(b"data: [DONE]\n\n")
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.hung_up.append(prompt)
            return


def main() -> None:
    """`python fake_openai.py WORDS`: serves until killed, every prompt answered with WORDS words
    (the bridge benchmark's model); prints the base URL on the first line."""
    import sys

    words = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    fake = FakeOpenAi()
    fake.default_answer = [f"w{i}" if i == 0 else f" w{i}" for i in range(words)]
    print(fake.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
