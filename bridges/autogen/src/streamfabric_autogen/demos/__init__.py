"""Demo builders that need no API key: each points its framework's own OpenAI client at an
OpenAI-compatible base URL from the environment (a gateway's /v1 with the built-in model, or a
test's local server): STREAMFABRIC_DEMO_OPENAI_BASE_URL, STREAMFABRIC_DEMO_OPENAI_MODEL (default
"builtin"), STREAMFABRIC_DEMO_OPENAI_API_KEY (default "none")."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoModel:
    base_url: str
    model: str
    api_key: str


def demo_model() -> DemoModel:
    """The model the demos talk to, read when a job is built (never at import time)."""
    base_url = os.environ.get("STREAMFABRIC_DEMO_OPENAI_BASE_URL", "").strip()
    if not base_url:
        raise RuntimeError(
            "STREAMFABRIC_DEMO_OPENAI_BASE_URL is not set: give an OpenAI-compatible base URL, "
            "e.g. http://127.0.0.1:<gateway port>/v1"
        )
    return DemoModel(
        base_url=base_url,
        model=os.environ.get("STREAMFABRIC_DEMO_OPENAI_MODEL", "").strip() or "builtin",
        api_key=os.environ.get("STREAMFABRIC_DEMO_OPENAI_API_KEY", "").strip() or "none",
    )
