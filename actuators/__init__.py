"""Output devices that warn the pedestrian: speaker, LED boards, GPIO relays; see ``actuators.hub``."""

# The config tree builds its device union from this package's registry, and device configs
# build on the config tree's base model; loading the tree first keeps that cycle well-ordered
# whichever side a caller imports first.
import edge.config  # noqa: F401
