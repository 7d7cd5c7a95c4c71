"""One validated config tree for a site; see ``load_site``."""

from edge.config.load import ConfigError, ConfigIssue, load_site
from edge.config.site import SiteConfig

__all__ = ["ConfigError", "ConfigIssue", "SiteConfig", "load_site"]
