"""Structured JSON logs, one object per line, in the same shape as the TypeScript services' pino
logs (numeric `level`, ISO `time`, `pid`, a constant `msg` and fields such as `sid` and `tenant`), so
one log pipeline reads both."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60, "silent": 100}


class Logger:
    """A tiny structured logger; `child(**fields)` binds fields (sid, tenant, ...) to every line."""

    def __init__(
        self,
        name: str,
        level: str = "info",
        fields: dict[str, Any] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self._name = name
        self._min = LEVELS.get(level, 30)
        self._fields = dict(fields or {})
        self._stream = stream

    def child(self, **fields: Any) -> Logger:
        c = Logger(self._name, "info", {**self._fields, **fields}, self._stream)
        c._min = self._min
        return c

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= self._min

    def _write(self, level: str, msg: str, fields: dict[str, Any]) -> None:
        if not self.enabled(level):
            return
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        rec = {"level": LEVELS[level], "time": now, "pid": os.getpid(), "name": self._name}
        rec.update(self._fields)
        rec.update(fields)
        rec["msg"] = msg
        stream = self._stream or sys.stdout
        stream.write(json.dumps(rec, default=str) + "\n")
        stream.flush()

    def debug(self, msg: str, **fields: Any) -> None:
        self._write("debug", msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._write("info", msg, fields)

    def warn(self, msg: str, **fields: Any) -> None:
        self._write("warn", msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._write("error", msg, fields)
