"""What comes in from the network, bounded before anything parses it.

Anyone who can reach the broker can publish anything. ``parse_json`` checks a payload's size and
bracket nesting *before* the JSON parser sees it (CPython's parser recurses once per level, so
``'[' * 100000`` raises ``RecursionError`` instead of a decode error). Fields from the wire go
into log lines through ``edge.logtext.printable``.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Events are about 1 KiB and a status a few KiB; 256 KiB leaves room for long evidence lists
# while keeping one message's parse time and memory small.
MAX_PAYLOAD_BYTES = 256 * 1024
# Our payloads nest at most 4 levels (event → evidence → item); 32 is far beyond any real one
# and far below the recursion limit of the JSON parser and of the schema validator.
MAX_JSON_DEPTH = 32

# A JSON string (an unterminated one runs to the end, so every scan is linear) or a bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


class PayloadError(ValueError):
    """A message that can never be processed (poison): reject it, keep it aside, acknowledge it."""


def parse_json(raw: bytes, max_bytes: int = MAX_PAYLOAD_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value in ``raw``, or ``PayloadError`` saying why not (size, depth, encoding, syntax)."""
    if len(raw) > max_bytes:
        raise PayloadError(f"payload too large ({len(raw)} bytes, limit {max_bytes})")
    if json_depth(raw, stop_above=max_depth) > max_depth:
        raise PayloadError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except (ValueError, RecursionError) as exc:  # ValueError also: an integer beyond Python's 4300 digits
        raise PayloadError(f"not JSON: {exc}") from None


def json_depth(raw: bytes, stop_above: int | None = None) -> int:
    """Deepest bracket nesting outside JSON strings, counted no further than ``stop_above + 1``.

    A cheap scan, not a validation: malformed text is left to the parser.
    """
    depth = deepest = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if stop_above is not None and deepest > stop_above:
                break
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest
