"""Site file rewriting: atomic replace, refusal of a file that does not load, history that survives a torn line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import ConfigError, load_site
from edge.web.site_file import SiteHistory, edit_crosswalks, write_site_atomically
from tests.edge.web.conftest import DEMO_SITE


def test_a_text_that_does_not_load_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    original = DEMO_SITE.read_text()
    path.write_text(original)
    with pytest.raises(ConfigError):
        write_site_atomically(path, original.replace("grace_s: 1.0", "grace_s: -5"))
    assert path.read_text() == original
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_edit_keeps_everything_but_the_edited_crosswalk(tmp_path: Path) -> None:
    text = DEMO_SITE.read_text()
    site = load_site(DEMO_SITE)
    cw = site.crosswalks[0].model_copy(update={"signal_group": "ped-east"})
    edited = edit_crosswalks(text, [cw])
    changed = [b for a, b in zip(text.splitlines(), edited.splitlines(), strict=True) if a != b]
    assert changed == ["    signal_group: ped-east"]


def test_history_survives_a_torn_last_line(tmp_path: Path) -> None:
    history = SiteHistory(tmp_path / "h")
    history.record("a: 1\n", "ana", "first")
    history.record("a: 2\n", "bo", "second")
    with open(tmp_path / "h" / "versions.jsonl", "a") as handle:
        handle.write('{"version": 3, "saved_')  # power cut mid-write
    assert [v.user for v in history.versions()] == ["ana", "bo"]
    assert history.text(1) == "a: 1\n"
    assert history.text(7) is None
