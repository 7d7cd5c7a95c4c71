"""Directional speaker: plays the warning through PyAudio (PortAudio) at the scheduled volume.

Each language's message is an operator WAV or is rendered once, offline, by espeak-ng and
cached. All clips are brought to one format (16-bit mono, ``RATE`` Hz) when the device opens,
so a warning is one buffer: the clips in the configured order with a short pause between.
The worker plays one warning at a time, so a warning that is playing is never cut off.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
import wave
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from actuators.base import (
    Actuator,
    Command,
    CommandKind,
    DeviceConfig,
    DeviceContext,
    DeviceError,
    Message,
    register,
)

RATE = 22050  # espeak-ng's native rate; operator recordings are resampled to it
# espeak-ng voices for announcement languages whose tag is not a voice name (Mandarin is ``cmn``)
ANNOUNCE_VOICES = {"zh": "cmn", "zh-CN": "cmn", "en": "en"}
CHUNK = 2048  # frames per write: ~93 ms, the granularity of the stall check


class SpeakerConfig(DeviceConfig):
    type: Literal["speaker"] = "speaker"
    output_device: str | None = Field(
        None,
        description="Part of the PortAudio output device name (see `aplay -L`); None: the default device",
    )
    languages: list[str] = Field(["zh", "en"], min_length=1, description="Languages played, in this order")
    volume: float = Field(1.0, ge=0, le=1, description="Device volume; multiplied by the schedule's volume")
    pause_s: float = Field(0.3, ge=0, le=5, description="Silence between languages")
    timeout_s: float = Field(
        5.0, gt=0, le=120,
        description="Limit for rendering a message, and time allowed beyond a warning's length to play it",
    )  # fmt: skip


def apply_volume(samples: np.ndarray, volume: float) -> np.ndarray:
    """Software volume on 16-bit samples: scale, round half to even, clip."""
    scaled = np.round(samples.astype(np.float64) * volume)
    return np.clip(scaled, -32768, 32767).astype("<i2")


def read_wav(path: Path) -> np.ndarray:
    """A 16-bit PCM WAV as mono samples at ``RATE``; stereo is averaged, other rates resampled."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise DeviceError(f"{path}: only 16-bit PCM WAV is supported, got {8 * wav.getsampwidth()}-bit")
            channels, rate = wav.getnchannels(), wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    except (OSError, EOFError, wave.Error) as exc:
        raise DeviceError(f"{path}: cannot read WAV: {exc}") from None
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).round().astype("<i2")
    if rate != RATE:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(RATE, rate)
        samples = np.clip(resample_poly(samples.astype(np.float64), RATE // g, rate // g).round(), -32768, 32767)
        samples = samples.astype("<i2")
    return samples


def render_tts(message: Message, cache: Path, timeout_s: float) -> Path:
    """The message spoken by espeak-ng, rendered once and kept in ``cache`` under a content hash."""
    voice = message.voice or message.language
    key = hashlib.sha256(f"espeak-ng\0{voice}\0{message.text}".encode()).hexdigest()[:24]
    target = cache / f"{message.language}-{key}.wav"
    if target.exists():
        return target
    if shutil.which("espeak-ng") is None:
        raise DeviceError(f"no WAV for language '{message.language}' and espeak-ng is not installed")
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        subprocess.run(
            ["espeak-ng", "-v", voice, "-w", str(partial), message.text],
            check=True, capture_output=True, timeout=timeout_s,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        raise DeviceError(f"espeak-ng could not render '{message.language}': {exc.stderr.decode().strip()}") from None
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise DeviceError(f"espeak-ng failed for '{message.language}': {exc}") from None
    partial.replace(target)  # whole files only, so a crash never leaves a truncated clip in the cache
    return target


@register("speaker", SpeakerConfig)
class Speaker(Actuator):
    config: SpeakerConfig
    is_audio = True

    def __init__(self, config: SpeakerConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self.warning: np.ndarray | None = None  # the full warning at volume 1.0
        self.prompt: np.ndarray | None = None  # the pre-warning prompt at volume 1.0
        self._pa: Any = None
        self._device_index: int | None = None

    def open(self) -> None:
        if self.warning is None:
            self.warning = self._compose(self.context.messages)
        if self.prompt is None and self.context.prewarn_messages:
            self.prompt = self._compose(self.context.prewarn_messages, "actuators.prewarn.messages")
        try:
            import pyaudio
        except ImportError:
            raise DeviceError("PyAudio is missing; install crossguard[audio]") from None
        self.close()
        self._pa = pyaudio.PyAudio()
        self._device_index = self._find_device()

    def _compose(self, messages: tuple[Message, ...] | None = None, where: str = "actuators.messages") -> np.ndarray:
        by_language = {m.language: m for m in (self.context.messages if messages is None else messages)}
        missing = [lang for lang in self.config.languages if lang not in by_language]
        if missing:
            raise DeviceError(f"no message for language(s) {', '.join(missing)} in {where}")
        gap = np.zeros(round(self.config.pause_s * RATE), dtype="<i2")
        parts: list[np.ndarray] = []
        for i, lang in enumerate(self.config.languages):
            message = by_language[lang]
            cache, limit = self.context.tts_cache, self.config.timeout_s
            path = Path(message.wav) if message.wav else render_tts(message, cache, limit)
            parts.extend([gap, read_wav(path)] if i else [read_wav(path)])
        return np.concatenate(parts)

    def _find_device(self) -> int | None:
        wanted = self.config.output_device
        if wanted is None:
            return None
        for index in range(self._pa.get_device_count()):
            info = self._pa.get_device_info_by_index(index)
            if wanted in info["name"] and info["maxOutputChannels"] > 0:
                return index
        raise DeviceError(f"no audio output device whose name contains '{wanted}'")

    def warn(self, command: Command) -> None:
        if not command.level.audible and command.kind is CommandKind.WARN:
            return  # quiet hours: boards still show the warning
        assert self.warning is not None
        self.play(apply_volume(self.warning, self.config.volume * command.level.volume))

    def prewarn(self, command: Command) -> None:
        """The pre-warning prompt at the curb edge; silent in quiet hours."""
        if not command.level.audible or self.prompt is None:
            return
        self.play(apply_volume(self.prompt, self.config.volume * command.level.volume))

    def announce(self, command: Command) -> None:
        """An operator's announcement: their WAV, or the text spoken by espeak-ng in its language.

        The hub has already refused it in quiet hours unless it was urgent."""
        if command.wav:
            samples = read_wav(Path(command.wav))
        else:
            language = command.language or self.config.languages[0]
            message = Message(language, command.text, voice=ANNOUNCE_VOICES.get(language))
            samples = read_wav(render_tts(message, self.context.tts_cache, self.config.timeout_s))
        self.play(apply_volume(samples, self.config.volume * command.level.volume))

    def play(self, samples: np.ndarray) -> None:
        import pyaudio

        if self._pa is None:
            raise DeviceError("audio device is not open")
        try:
            stream = self._pa.open(format=pyaudio.paInt16, channels=1, rate=RATE, output=True,
                                   output_device_index=self._device_index)  # fmt: skip
            try:
                self._write(stream, samples)
            finally:
                stream.stop_stream()
                stream.close()
        except OSError as exc:
            raise DeviceError(f"audio playback failed: {exc}") from None

    def _write(self, stream: Any, samples: np.ndarray) -> None:
        """Write in short chunks so a device that stalls is given up after the warning's length plus
        ``timeout_s``, instead of holding the worker for ever."""
        deadline = time.monotonic() + len(samples) / RATE + self.config.timeout_s
        for start in range(0, len(samples), CHUNK):
            if time.monotonic() > deadline:
                raise DeviceError(f"audio output stalled: not played within {self.config.timeout_s:.1f} s")
            stream.write(samples[start : start + CHUNK].tobytes())

    def close(self) -> None:
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None
