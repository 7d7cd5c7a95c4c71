"""Every device driver module; importing this package fills the registry.

A driver's runtime library (PyAudio, pysnmp, pyserial, gpiod, pymodbus, sacn) is imported only when the
device is opened, so a missing extra disables that device alone, with an error naming it.
"""

from actuators.base import DEVICE_CONFIGS, DEVICE_TYPES
from actuators.devices import alpha, gpio, ground_lights, http_board, ntcip, ped_call, speaker  # noqa: F401 - registration

__all__ = ["DEVICE_CONFIGS", "DEVICE_TYPES"]
