"""What a client may see of an agent's exception: its type and a short message, never a
traceback, a file path or an internal address (those go to the log, with the session id)."""

from __future__ import annotations

import re

#: Longest message a client gets (the type name comes first).
MAX_MESSAGE = 300

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\",)>\]]+")
#: `<class 'package.module.Name'>`: internal module paths.
_CLASS = re.compile(r"<class '([\w.]+\.)?(\w+)'>")
_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\[[0-9a-fA-F:]+\](?::\d+)?|\blocalhost(?::\d+)?\b"
)
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}[\\/]?")
_HEX = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def public_message(err: BaseException) -> str:
    """`"<ExceptionType>: <first line, addresses and paths masked>"`, at most MAX_MESSAGE characters."""
    # An exception made with several arguments prints as a tuple: its first (the message) is enough.
    raw = err.args[0] if len(err.args) > 1 and isinstance(err.args[0], str) else str(err)
    text = raw.strip().splitlines()[0] if raw.strip() else ""
    text = _CLASS.sub(r"\2", text)
    text = _URL.sub("<url>", text)
    text = _ADDRESS.sub("<address>", text)
    text = _PATH.sub("<path>", text)
    text = _HEX.sub("<addr>", text)
    name = type(err).__name__
    out = f"{name}: {text}" if text else name
    return out if len(out) <= MAX_MESSAGE else out[: MAX_MESSAGE - 1] + "…"
