"""A recorded MQTT feed played back on the frame clock, so replay judges it as live did."""

from __future__ import annotations

from edge.config.signal import RecordedFeedSourceConfig
from edge.signal.feed import FeedSource
from edge.signal.recording import RecordedMessage, read_recording
from edge.signal.source import FrameClock
from edge.signal.sources import register


@register("recorded_feed")
class RecordedFeedSource(FeedSource):
    """Hands each recorded message to the inbox once the frame's UTC time reaches its receive time."""

    def __init__(self, config: RecordedFeedSourceConfig, messages: list[RecordedMessage], bad_lines: int = 0) -> None:
        super().__init__(config.name, config)
        self.offset_s = config.offset_s
        self._messages = messages
        self._next = 0
        self.inbox.counters.malformed += bad_lines

    @classmethod
    def from_config(cls, config: RecordedFeedSourceConfig) -> RecordedFeedSource:
        messages, bad = read_recording(config.path)
        return cls(config, messages, bad)

    def receive(self, clock: FrameClock) -> None:
        while self._next < len(self._messages):
            message = self._messages[self._next]
            if message.received + self.offset_s > clock.utc:
                break
            self.inbox.submit(message.payload, message.received, shift_s=self.offset_s)
            self._next += 1
