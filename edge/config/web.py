"""Web UI section: where the local UI listens, its TLS certificate, accounts and login limits."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, model_validator

from edge.config.base import StrictModel
from edge.config.screen import ScreenConfig


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address


class WebConfig(StrictModel):
    host: str = Field(
        "127.0.0.1", min_length=1, description="Address the UI listens on; set the box's LAN address to reach it"
    )
    port: int = Field(8080, ge=0, le=65535, description="TCP port of the UI; 0 picks a free one (tests)")
    tls_cert: Path | None = Field(
        None, title="TLS certificate", description="PEM certificate; with tls_key, the UI is served over HTTPS"
    )
    tls_key: Path | None = Field(None, title="TLS key", description="PEM private key for tls_cert")
    users_db: Path = Field(
        Path("state/users.db"), description="SQLite file of accounts and sessions; relative to the site file"
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="How long a login lasts")
    login_attempts: int = Field(
        5, ge=1, le=100, description="Failed logins allowed per client address and name (never per name alone)"
    )
    login_address_attempts: int = Field(
        20, ge=1, le=1000, description="Failed logins allowed per client address, whatever names it tries"
    )
    login_window_s: float = Field(300.0, ge=1, le=86400, description="Window over which failed logins are counted")
    screen: ScreenConfig = Field(default_factory=ScreenConfig, description="The public warning screen (/screen)")

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> WebConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("web.tls_cert and web.tls_key must be given together")
        return self

    @property
    def plain_http_on_network(self) -> bool:
        """Served without TLS beyond this machine: passwords and session cookies cross the network readable."""
        return self.tls_cert is None and not is_loopback(self.host)

    def resolved(self, site_dir: Path) -> WebConfig:
        """A copy whose relative file paths are taken relative to the site file's folder."""

        def fix(path: Path | None) -> Path | None:
            return None if path is None or path.is_absolute() else (site_dir / path).resolve()

        updates = {k: fix(getattr(self, k)) for k in ("tls_cert", "tls_key", "users_db") if fix(getattr(self, k))}
        return self.model_copy(update=updates)
