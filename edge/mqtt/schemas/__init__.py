"""JSON Schemas of every payload the box sends (``<kind>.json``); shipped with the package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

KINDS = ("event", "evidence", "status", "signal", "command_state", "command")


@cache
def load_schema(kind: str) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"no schema '{kind}'; known: {', '.join(KINDS)}")
    return json.loads(resources.files(__package__).joinpath(f"{kind}.json").read_text(encoding="utf-8"))


@cache
def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(kind), format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(kind: str, payload: Any) -> list[str]:
    """Every way ``payload`` breaks the ``kind`` schema, as 'path: message' lines; empty when valid."""
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator(kind).iter_errors(payload), key=lambda e: list(e.absolute_path))
    ]
