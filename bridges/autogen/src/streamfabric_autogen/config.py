"""Bridge settings from the environment. The names and defaults are the TypeScript worker's
(shared/config/worker-config.ts and common-config.ts), so one deployment configures both; a test
(test/autogen/bridge-contract.test.ts) fails when the defaults drift apart."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

AGENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: Defaults, keyed by environment variable.
DEFAULTS: dict[str, object] = {
    "NATS_URL": "nats://127.0.0.1:4222",
    "NATS_REPLICAS": 1,
    "NATS_PARTITIONS": 1,
    "WORKER_CONCURRENCY": 256,
    "WORKER_ACK_WAIT_MS": 10_000,
    "WORKER_MAX_DELIVER": 5,
    "STREAM_TIMEOUT": 600_000,
    "STREAM_BUFFER_SIZE": 32,
    "STREAM_FLUSH_INTERVAL": 50,
    "MAX_HISTORY_TOKENS": 100_000,
    "INPUT_TIMEOUT_MS": 300_000,
    "AGENT_HEARTBEAT_MS": 5_000,
    "STREAM_LOG_LEVEL": "info",
    "CONVERSATION_SNAPSHOTS": "on",
}


class ConfigError(ValueError):
    """An environment variable has a value the bridge cannot use (the message names it)."""


@dataclass(frozen=True)
class BridgeConfig:
    """Everything the bridge needs to run one agent pool."""

    agent: str
    nats_urls: list[str] = field(default_factory=lambda: [str(DEFAULTS["NATS_URL"])])
    nats_user: str | None = None
    nats_password: str | None = None
    nats_token: str | None = None
    nats_creds: str | None = None
    replicas: int = 1
    #: NATS_PARTITIONS (docs/partitions.md): must match the layout the services recorded in NATS.
    partitions: int = 1
    worker_id: str | None = None
    concurrency: int = 256
    ack_wait_ms: int = 10_000
    max_deliver: int = 5
    timeout_ms: int = 600_000
    buffer_size: int = 32
    flush_interval_ms: int = 50
    #: Largest conversation history (estimated tokens, 4 characters each) given to the agents; the
    #: oldest turns beyond it are left out (as the TypeScript worker does).
    max_history_tokens: int = 100_000
    #: Default wait for a user's answer to an agent's question (ms) before `input_timeout`.
    input_timeout_ms: int = 300_000
    #: How often the live key of the agent pool is refreshed (AGENT-POOLS.md).
    agent_heartbeat_ms: int = 5_000
    #: Adapter forced by `--framework` (agentchat | ag2 | agent-framework); None: picked per job.
    framework: str | None = None
    log_level: str = "info"
    #: Conversation snapshots read before and written after each turn (CONVERSATION_SNAPSHOTS=on|off).
    snapshots: bool = True

    def __post_init__(self) -> None:
        if not AGENT_NAME.match(self.agent):
            raise ConfigError(
                f"agent name {self.agent!r} must be 1-64 characters of a-z 0-9 _ - "
                "(starting with a letter or digit)"
            )


def _int(env: Mapping[str, str], key: str, minimum: int, maximum: int = 2**53) -> int:
    raw = env.get(key, "").strip()
    if raw == "":
        return int(DEFAULTS[key])  # type: ignore[arg-type]
    try:
        v = int(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not an integer") from None
    if v < minimum or v > maximum:
        raise ConfigError(f"{key}={v} must be between {minimum} and {maximum}")
    return v


def load_config(agent: str, env: Mapping[str, str] | None = None, **overrides: object) -> BridgeConfig:
    """Reads the environment (default: os.environ) once, at start; CLI flags come as overrides."""
    env = os.environ if env is None else env
    level = env.get("STREAM_LOG_LEVEL", str(DEFAULTS["STREAM_LOG_LEVEL"])).strip() or "info"
    if level not in ("fatal", "error", "warn", "info", "debug", "trace", "silent"):
        raise ConfigError(f"STREAM_LOG_LEVEL={level!r} is not a log level")
    snapshots = env.get("CONVERSATION_SNAPSHOTS", "on").strip() or "on"
    if snapshots not in ("on", "off"):
        raise ConfigError(f"CONVERSATION_SNAPSHOTS={snapshots!r} must be on or off")
    values: dict[str, object] = dict(
        agent=agent,
        nats_urls=[u.strip() for u in env.get("NATS_URL", str(DEFAULTS["NATS_URL"])).split(",") if u.strip()],
        nats_user=env.get("NATS_USER") or None,
        nats_password=env.get("NATS_PASSWORD") or None,
        nats_token=env.get("NATS_TOKEN") or None,
        nats_creds=env.get("NATS_CREDS") or None,
        replicas=_int(env, "NATS_REPLICAS", 1, 5),
        partitions=_int(env, "NATS_PARTITIONS", 1, 64),
        worker_id=env.get("WORKER_ID") or None,
        concurrency=_int(env, "WORKER_CONCURRENCY", 1, 100_000),
        ack_wait_ms=_int(env, "WORKER_ACK_WAIT_MS", 1),
        max_deliver=_int(env, "WORKER_MAX_DELIVER", 1, 100),
        timeout_ms=_int(env, "STREAM_TIMEOUT", 1),
        buffer_size=_int(env, "STREAM_BUFFER_SIZE", 1),
        flush_interval_ms=_int(env, "STREAM_FLUSH_INTERVAL", 0),
        max_history_tokens=_int(env, "MAX_HISTORY_TOKENS", 1),
        input_timeout_ms=_int(env, "INPUT_TIMEOUT_MS", 1),
        agent_heartbeat_ms=_int(env, "AGENT_HEARTBEAT_MS", 100, 3_600_000),
        log_level=level,
        snapshots=snapshots == "on",
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    return BridgeConfig(**values)  # type: ignore[arg-type]
