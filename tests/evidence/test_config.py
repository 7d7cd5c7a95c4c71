"""The evidence section of the site file: defaults keep old files valid, bad values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import ConfigError, load_site
from edge.config.evidence import EvidenceConfig

SITE = """\
site: {{id: s1, name: Test, device_id: d1}}
crosswalks:
  - id: xw1
    signal_group: p1
    polygon: [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]
    curbs:
      - {{name: a, polygon: [[0, 0], [0.1, 0], [0.1, 0.1]]}}
      - {{name: b, polygon: [[0.9, 0.9], [1, 0.9], [1, 1]]}}
{evidence}"""


def _load(tmp_path: Path, evidence: str) -> object:
    path = tmp_path / "site.yaml"
    path.write_text(SITE.format(evidence=evidence))
    return load_site(path)


def test_site_without_evidence_section_gets_defaults(tmp_path: Path) -> None:
    site = _load(tmp_path, "")
    assert site.evidence == EvidenceConfig()
    assert (site.evidence.pre_roll_s, site.evidence.post_roll_s) == (5.0, 5.0)
    assert site.evidence.private_key_path() == Path("/var/lib/crossguard/evidence/keys/device_ed25519.pem")


def test_relative_root_is_relative_to_the_site_file(tmp_path: Path) -> None:
    site = _load(tmp_path, "evidence: {root: store}")
    assert site.evidence.root == tmp_path / "store"


@pytest.mark.parametrize(
    ("evidence", "key", "message"),
    [
        ("evidence: {jpeg_quality: 20}", "evidence.jpeg_quality", "greater than or equal to 50"),
        ("evidence: {ring_secs: 20}", "evidence.ring_secs", "did you mean 'ring_seconds'"),
        ("evidence: {ring_seconds: 6}", "evidence", "ring_seconds (6.0) must cover"),
        ("evidence: {clip_encoder: x265}", "evidence.clip_encoder", "auto"),
        ("evidence: {retention_days: {new: 3}}", "evidence.retention_days.new", "unknown key"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, evidence: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, evidence)
    issue = err.value.issues[0]
    assert issue.key == key and message in issue.message and issue.line == 9
