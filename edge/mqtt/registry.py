"""The boxes a centre accepts reports from (``crossguard center --registry boxes.yaml``).

A message names its box only by its topic, and anyone who can publish on the broker can pick any
topic; the registry turns a forged site into a rejected message instead of a new site with a
violation. The broker's ACL (edge/mqtt/README.md) makes sure each box publishes only on its own
topics, so a known topic means a known box.

```yaml
boxes:
  - site: elm-5th
    camera: cam1
    evidence_pubkey: /etc/crossguard/boxes/elm-5th.pub   # optional: the box's evidence public key
    name: Elm St & 5th Ave                                # optional: for the centre's overview
    latitude: 52.5163                                     # optional: its place on the centre's map
    longitude: 13.3777
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from edge.config.base import StrictModel
from edge.config.load import ConfigError, ConfigIssue, _issues_from, _plain, read_yaml

_ID = r"^[A-Za-z0-9_.-]+$"  # one topic level: no '/', '+', '#'


class Box(StrictModel):
    site: str = Field(..., pattern=_ID, description="The box's site id (site.id in its site file)")
    camera: str = Field(..., pattern=_ID, description="The box's camera id (camera.id in its site file)")
    evidence_pubkey: Path | None = Field(
        None, description="The box's evidence public key (crossguard evidence pubkey), for checking its evidence"
    )
    name: str = Field("", max_length=200, description="The crossing's name, shown in the centre's overview")
    latitude: float | None = Field(None, ge=-90, le=90, description="Where the crossing is, for the centre's map")
    longitude: float | None = Field(None, ge=-180, le=180, description="Where the crossing is, for the centre's map")


class BoxRegistry(StrictModel):
    boxes: list[Box] = Field(..., min_length=1, description="Every box the centre accepts reports from")

    def knows(self, site: str, camera: str) -> bool:
        return any(b.site == site and b.camera == camera for b in self.boxes)


def load_registry(path: str | Path) -> BoxRegistry:
    """Read and check a registry file; raise ``ConfigError`` naming the file, line and key of each problem."""
    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError([ConfigIssue(str(path), 1, "", "the registry must be a mapping with a 'boxes' list")])
    try:
        return BoxRegistry.model_validate(_plain(doc))
    except ValidationError as exc:
        raise ConfigError(_issues_from(exc, doc, str(path), BoxRegistry)) from None
