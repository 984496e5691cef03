"""JSON Schema validation of what crosses the bridge's boundary.

The schemas are generated from the zod protocol in shared/protocol (`npm run schemas`) and ship
inside this package, so jobs are checked exactly as the TypeScript worker checks them, and every
event the bridge writes is one a TypeScript client accepts.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = ["SchemaError", "load_schema", "validate_job", "validate_event", "validate_control"]


class SchemaError(ValueError):
    """A payload does not match the protocol schema."""

    def __init__(self, what: str, err: ValidationError) -> None:
        path = "/".join(str(p) for p in err.absolute_path) or "(root)"
        super().__init__(f"invalid {what} at {path}: {err.message}")
        self.path = path


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Loads `<name>.json` from $STREAMFABRIC_SCHEMA_DIR if set, else from the package."""
    override = os.environ.get("STREAMFABRIC_SCHEMA_DIR")
    if override:
        with open(os.path.join(override, f"{name}.json"), encoding="utf-8") as f:
            return json.load(f)
    text = resources.files("streamfabric_autogen").joinpath("schema", f"{name}.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name))


@cache
def _event_validators() -> dict[str, Draft202012Validator]:
    """One validator per event type: the union is discriminated by `type`, so checking the one
    branch that matches is the same check as the whole `oneOf`, at a twelfth of the cost."""
    out: dict[str, Draft202012Validator] = {}
    for branch in load_schema("session-event")["oneOf"]:
        out[branch["properties"]["type"]["const"]] = Draft202012Validator(branch)
    return out


def _check(validator: Draft202012Validator, what: str, value: Any) -> None:
    err = next(iter(validator.iter_errors(value)), None)
    if err is not None:
        raise SchemaError(what, err)


def validate_job(value: Any) -> dict[str, Any]:
    """Checks a job payload and returns it with the schema's defaults applied."""
    _check(_validator("job"), "job", value)
    return {"options": {}, "turn": 1, **value}


def validate_event(value: Any) -> None:
    """Checks an outgoing session event; raises SchemaError if a TypeScript client would reject it."""
    kind = value.get("type") if isinstance(value, dict) else None
    validator = _event_validators().get(kind) if isinstance(kind, str) else None
    _check(validator or _validator("session-event"), "session event", value)


def validate_control(value: Any) -> dict[str, Any]:
    """Checks a control message (e.g. `{"type": "cancel", "sid": ...}`)."""
    _check(_validator("control-message"), "control message", value)
    return value
