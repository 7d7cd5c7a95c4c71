"""Frame sources for the live service: cameras and files, captured on their own thread.

``open_source(spec, config)`` picks the source by the shape of ``camera.source``;
``Capture`` runs it on a thread with latest-frame semantics and reconnects with back-off.
"""

from edge.capture.base import CaptureError, FrameSource, open_source
from edge.capture.reader import Capture, CaptureState, Grabbed

__all__ = ["Capture", "CaptureError", "CaptureState", "FrameSource", "Grabbed", "open_source"]
