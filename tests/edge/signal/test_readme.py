"""The README's config examples and message examples are valid: they are checked, not just shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from edge.config.signal import SignalConfig
from edge.signal.feed_messages import parse_message

README = Path(__file__).resolve().parents[3] / "edge" / "signal" / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("text", blocks("yaml"))
def test_yaml_examples_validate(text: str) -> None:
    config = SignalConfig.model_validate(YAML(typ="safe").load(text)["signal"])
    assert config.sources


@pytest.mark.parametrize("line", [line for b in blocks("json") for line in b.splitlines() if line.strip()])
def test_message_examples_parse(line: str) -> None:
    assert parse_message(line)


def test_there_are_examples() -> None:
    assert len(blocks("yaml")) >= 7 and len(blocks("json")) >= 1
