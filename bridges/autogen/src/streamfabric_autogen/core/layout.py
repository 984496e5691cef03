"""The partition layout (docs/partitions.md): read from the `fabric_meta` bucket the TypeScript
services record it in, checked against this bridge's NATS_PARTITIONS, installed in subjects.py."""

from __future__ import annotations

import json
from typing import Any

from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError, NotFoundError

from ..subjects import META_BUCKET, META_PARTITIONS_KEY, set_partition_layout


class PartitionLayoutError(RuntimeError):
    """NATS_PARTITIONS is smaller than the recorded partition count: the bridge refuses to start."""

    def __init__(self, configured: int, recorded: int) -> None:
        super().__init__(
            f"NATS_PARTITIONS={configured} is smaller than the {recorded} partitions recorded in NATS "
            f"({META_BUCKET}); partitions can only grow: set NATS_PARTITIONS={recorded} or more "
            "(docs/partitions.md)"
        )
        self.configured = configured
        self.recorded = recorded


async def read_layout(js: Any) -> list[int] | None:
    """The recorded partition counts, oldest first; None while nothing is recorded yet."""
    try:
        kv = await js.key_value(META_BUCKET)
        e = await kv.get(META_PARTITIONS_KEY)
    except (BucketNotFoundError, NotFoundError, KeyNotFoundError, KeyDeletedError):
        return None
    if e is None or not e.value:
        return None
    try:
        history = json.loads(e.value)
    except ValueError:
        return None
    out = [int(h["partitions"]) for h in history if isinstance(h, dict) and isinstance(h.get("partitions"), int)]
    return out or None


async def install_layout(js: Any, configured: int) -> bool:
    """Installs the recorded layout when it matches `configured`; False while the services have not
    recorded `configured` yet (the bridge waits for them, as for the streams); raises
    PartitionLayoutError when `configured` is smaller than the recorded count."""
    history = await read_layout(js)
    if history is None:
        return False
    recorded = history[-1]
    if configured < recorded:
        raise PartitionLayoutError(configured, recorded)
    if configured > recorded:
        return False
    set_partition_layout(recorded, history)
    return True
