"""Classify a recording of any length in flat memory: decode in blocks, compute each block's MFCC
windows with the frames of context their edges need, run both networks on batches of windows
and keep only what is small (each window's probabilities and level, each pretrained patch's group
scores, a coarse waveform). The timeline is assembled from those at the end, by the same code as
the whole-file path (`Classifier.assemble`), and provisionally every few seconds for progress.

A recording that fits in one block (BLOCK_S, two minutes) goes through the whole-file path
unchanged, so short clips get exactly today's result. Longer ones differ from the whole-file
path in one place only: the log-mel floor (80 dB under the loudest cell) is taken per block, not
over the whole recording; tests/ml/test_streaming.py states the tolerance this leaves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.audio import DEFAULT_MAX_DURATION_S, SAMPLE_RATE, AudioInfo, StreamChecks, open_stream
from ml.features import FeatureSettings, mfcc_frames, normalise_windows, summarise
from ml.inference import ClassificationResult, Classifier, Heard, Segment, window_levels_dbfs, window_means
from ml.pretrained import PATCH_S, PATCH_SAMPLES
from ml.waveform import DEFAULT_COLUMNS, peaks

BLOCK_S = 120.0
CONTEXT_FRAMES = 8  # on each side of a block: a frame's window is +-1, its delta +-4 frames
PEAK_BUCKET = 1600  # samples per min/max pair kept for the waveform (0.1 s)


@dataclass
class Progress:
    """How far a classification has come: seconds decoded of the total the header promised
    (None when it does not say), and the timeline so far (its last segment is provisional)."""

    done_s: float
    total_s: float | None
    segments: list[Segment]


class WindowStream:
    """The MFCC windows of a 16 kHz signal that arrives in blocks: the windows
    `ml.features.extract` would cut from the whole signal, in order, with their levels."""

    def __init__(self, settings: FeatureSettings):
        self.settings = settings
        self.hop, self.size, self.step = (
            settings.hop_length,
            settings.frames_per_window,
            settings.frames_per_hop,
        )
        self.half_fft = settings.n_fft // 2
        self.samples = np.zeros(0, np.float32)
        self.sample_offset = 0  # global index of self.samples[0]
        self.frames: np.ndarray | None = None
        self.frame_offset = 0  # global index of self.frames[0]
        self.next_frame = 0  # first frame not computed yet
        self.next_start = 0  # next regular window's first frame
        self.last_start = -1  # the last window cut
        self.received = 0

    def add(
        self, block: np.ndarray, final: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Take a block (or, with final=True, the end of the signal): the windows now complete, as
        (features, starts_s, ends_s, levels_dbfs)."""
        self.samples = np.concatenate([self.samples, block.astype(np.float32, copy=False)])
        self.received += len(block)
        total_frames = 1 + self.received // self.hop
        ready = total_frames if final else (self.received - self.half_fft) // self.hop + 1 - 4
        if ready > self.next_frame:
            self._compute_frames(self.next_frame, ready, final)
        starts = []
        while self.next_start + self.size <= self.next_frame:
            starts.append(self.next_start)
            self.next_start += self.step
        if final and (not starts or starts[-1] + self.size < total_frames):
            last = starts[-1] if starts else self.last_start
            if last + self.size < total_frames:
                starts.append(total_frames - self.size)
        batch = self._windows(starts, final)
        if starts:
            self.last_start = starts[-1]
        self._trim()
        return batch

    def _compute_frames(self, first: int, end: int, final: bool) -> None:
        segment_first = max(0, first - CONTEXT_FRAMES)
        start_sample = segment_first * self.hop
        stop_sample = (
            self.received if final else min(self.received, (end + CONTEXT_FRAMES) * self.hop + self.half_fft)
        )
        segment = self.samples[start_sample - self.sample_offset : stop_sample - self.sample_offset]
        frames = mfcc_frames(segment, self.settings)[first - segment_first : end - segment_first]
        if self.frames is None:
            self.frames, self.frame_offset = frames, first
        else:
            self.frames = np.concatenate([self.frames, frames])
        self.next_frame = end

    def _windows(
        self, starts: list[int], final: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rate = self.settings.sample_rate
        if not starts:
            empty = np.zeros(0)
            return np.zeros((0,), np.float32), empty, empty, empty
        assert self.frames is not None
        windows = np.stack(
            [self.frames[s - self.frame_offset : s - self.frame_offset + self.size] for s in starts]
        )
        if self.settings.normalise in ("window", "envelope"):
            windows = normalise_windows(windows, self.settings)
        features = summarise(windows, self.settings).astype(np.float32)
        duration_s = self.received / rate if final else math.inf
        starts_s = np.array(starts) * self.hop / rate
        ends_s = np.minimum(starts_s + self.settings.window_s, duration_s)
        levels = window_levels_dbfs(
            self.samples, starts_s, ends_s, rate, offset=self.sample_offset, total=self.received
        )
        return features, starts_s, ends_s, levels

    def _trim(self) -> None:
        """Keep only what pending windows and the next frames' context can need."""
        keep_frame = max(0, min(self.next_start - self.step, self.next_frame - CONTEXT_FRAMES))
        if self.frames is not None and keep_frame > self.frame_offset:
            self.frames = self.frames[keep_frame - self.frame_offset :]
            self.frame_offset = keep_frame
        keep_sample = keep_frame * self.hop
        if keep_sample > self.sample_offset:
            self.samples = self.samples[keep_sample - self.sample_offset :]
            self.sample_offset = keep_sample


class PatchStream:
    """The pretrained network's back-to-back patches of a signal that arrives in blocks, what each
    patch was heard as kept (the last patch padded with silence, as `ml.pretrained.patches`)."""

    def __init__(self, classifier: Classifier):
        self.classifier = classifier
        self.leftover = np.zeros(0, np.float32)
        self.heard: list[Heard] = []

    def add(self, block: np.ndarray, final: bool = False) -> None:
        if self.classifier.pretrained is None:
            return
        samples = np.concatenate([self.leftover, block])
        whole = len(samples) // PATCH_SAMPLES
        if final and (len(samples) % PATCH_SAMPLES or not (whole or self.heard)):
            padded = np.zeros((whole + 1) * PATCH_SAMPLES, np.float32)
            padded[: len(samples)] = samples
            samples, whole = padded, whole + 1
        if whole:
            heard = self.classifier.hear(samples[: whole * PATCH_SAMPLES])
            assert heard is not None
            self.heard.append(heard)
        self.leftover = samples[whole * PATCH_SAMPLES :].copy()

    @property
    def count(self) -> int:
        return sum(len(h.groups) for h in self.heard)

    def joined(self) -> Heard | None:
        """Everything heard so far, as one (kept joined, so the next call joins little)."""
        if not self.heard:
            return None
        if len(self.heard) > 1:
            self.heard = [Heard.joined(self.heard)]
        return self.heard[0]


class StreamingClassification:
    """One recording's classification as its blocks come: feed blocks with `add`, then `finish`."""

    def __init__(self, classifier: Classifier):
        self.classifier = classifier
        self.windows = WindowStream(classifier.settings)
        self.patches = PatchStream(classifier)
        self.calibrated: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        self.ends: list[np.ndarray] = []
        self.levels: list[np.ndarray] = []
        self.peak_buckets: list[np.ndarray] = []
        self.peak_leftover = np.zeros(0, np.float32)

    def add(self, block: np.ndarray, final: bool = False) -> None:
        features, starts_s, ends_s, levels = self.windows.add(block, final)
        if len(starts_s):
            network = self.classifier.network.predict(features)
            self.calibrated.append(self.classifier.calibration.apply(network))
            self.starts.append(starts_s)
            self.ends.append(ends_s)
            self.levels.append(levels)
        self.patches.add(block, final)
        self._peaks(block, final)

    def _peaks(self, block: np.ndarray, final: bool) -> None:
        samples = np.concatenate([self.peak_leftover, block])
        whole = len(samples) // PEAK_BUCKET
        if whole:
            buckets = samples[: whole * PEAK_BUCKET].reshape(whole, PEAK_BUCKET)
            self.peak_buckets.append(np.stack([buckets.min(axis=1), buckets.max(axis=1)], axis=1))
        self.peak_leftover = samples[whole * PEAK_BUCKET :]
        if final and len(self.peak_leftover):
            self.peak_buckets.append(np.array([[self.peak_leftover.min(), self.peak_leftover.max()]]))

    def raw_probabilities(self, ready_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(window probabilities before smoothing, starts, ends, levels) of the windows whose
        patches have all been heard (all of them after `finish`)."""
        if not self.starts:
            empty = np.zeros(0)
            return np.zeros((0, 3), np.float32), empty, empty, empty
        calibrated = np.concatenate(self.calibrated)
        starts, ends, levels = (
            np.concatenate(self.starts),
            np.concatenate(self.ends),
            np.concatenate(self.levels),
        )
        combiner = self.classifier.combiner
        if combiner is None or self.classifier.pretrained is None:
            return calibrated, starts, ends, levels
        if ready_only:
            ready = ends <= (self.patches.count - 0.5) * PATCH_S
            calibrated, starts, ends, levels = calibrated[ready], starts[ready], ends[ready], levels[ready]
            if not len(starts):
                return calibrated, starts, ends, levels
        heard = self.patches.joined()
        assert heard is not None
        return combiner.apply(calibrated, window_means(heard.groups, starts, ends)), starts, ends, levels

    def partial(self) -> list[Segment]:
        raw, starts, ends, levels = self.raw_probabilities(ready_only=True)
        if not len(starts):
            return []
        return self.classifier.assemble(raw, starts, ends, levels, float(ends[-1])).segments

    def waveform(self, columns: int = DEFAULT_COLUMNS) -> list[list[float]]:
        buckets = np.concatenate(self.peak_buckets) if self.peak_buckets else np.zeros((1, 2))
        columns = max(1, min(columns, len(buckets)))
        edges = np.linspace(0, len(buckets), columns + 1).astype(int)
        pairs = [
            [buckets[a:b, 0].min(), buckets[a:b, 1].max()] for a, b in zip(edges[:-1], edges[1:]) if b > a
        ]
        return np.round(np.array(pairs, dtype=np.float64), 3).tolist()


def classify_stream(
    classifier: Classifier,
    path: str | Path,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 5.0,
    block_s: float = BLOCK_S,
) -> ClassificationResult:
    """Classify `path` in blocks of `block_s` seconds, calling `on_progress` at most every
    `progress_every_s` seconds of work. A recording of one block or less is classified whole."""
    if classifier.settings.normalise == "recording":  # needs the whole recording's mean first
        block_s = math.inf
    stream = open_stream(path, max_duration_s)
    checks = StreamChecks(stream.info, max_duration_s)
    block_samples = int(min(block_s, max_duration_s + 2) * SAMPLE_RATE)
    blocks = _rebatched(checks.passing(stream.blocks), block_samples)
    first = next(blocks, None)
    second = next(blocks, None) if first is not None else None
    if second is None:  # one block or less: the whole-file path, exactly as before
        samples = first if first is not None else np.zeros(0, np.float32)
        duration_s = checks.finish()
        result = classifier.classify_samples(samples)
        result.waveform = peaks(samples)
        return _described(result, duration_s, stream.info)
    assert first is not None
    work = StreamingClassification(classifier)
    last_report = -math.inf  # the first report comes after the first block
    work.add(first)
    done, pending = len(first), second
    for block in blocks:
        work.add(pending)
        done += len(pending)
        pending = block
        if on_progress is not None and time.monotonic() - last_report >= progress_every_s:
            on_progress(Progress(done / SAMPLE_RATE, stream.info.duration_s, work.partial()))
            last_report = time.monotonic()
    work.add(pending, final=True)
    duration_s = checks.finish()
    raw, starts, ends, levels = work.raw_probabilities(ready_only=False)
    result = classifier.assemble(raw, starts, ends, levels, duration_s, work.patches.joined())
    result.waveform = work.waveform()
    return _described(result, duration_s, stream.info)


def _rebatched(blocks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """The decoder's small blocks regrouped into blocks of `size` samples (the last shorter)."""
    pieces, held = [], 0
    for block in blocks:
        pieces.append(block)
        held += len(block)
        while held >= size:
            joined = np.concatenate(pieces)
            yield joined[:size]
            pieces, held = [joined[size:]], held - size
    if held:
        yield np.concatenate(pieces)


def _described(result: ClassificationResult, duration_s: float, info: AudioInfo) -> ClassificationResult:
    result.duration_s = round(duration_s, 3)
    result.sample_rate = info.sample_rate
    result.channels = info.channels
    return result
