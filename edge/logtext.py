"""Text from outside (the network, a state file) made safe for one log line."""

from __future__ import annotations

LOG_FIELD_CHARS = 200  # how much of one outside field a log line shows


def printable(value: object, limit: int = LOG_FIELD_CHARS) -> str:
    """``value`` as one safe log field: control characters (newlines too) escaped, at most ``limit`` chars.

    A newline or a Unicode line separator in a field would otherwise forge a second log line.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
