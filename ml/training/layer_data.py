"""What the layered heads (ml/layers.py) learn from: the pretrained network's embedding and scores
for every 0.975 s patch of (a) the corpus's own files, each with its family, and (b) mixtures made
from the corpus: speech over music at random levels from -25 to +5 dB, speech over noise, each
kind alone, with the truth at 0.1 s (speech heard, music heard, music's level under the speech).

Every mixture draws its parts from the sources of one fold (ml.training.data.source_folds), so a
head cross-validated by fold never hears a held-out source, in a mixture or alone.

    python -m ml.training.layer_data --corpus ../shared/corpus --out var/layer-data.npz

About 24,000 corpus patches and 48,000 mixture patches: about 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml.audio import SAMPLE_RATE, AudioDecodeError, decode
from ml.families import FAMILIES
from ml.pretrained import PATCH_SAMPLES, THIRDS, Pretrained
from ml.training.data import CorpusFile, scan_corpus, source_folds
from ml.training.family_labels import family_of
from ml.training.origins import source_kinds
from ml.training.progress import log

FOLDS = 4
MIXTURE_S = 11.7  # 12 patches
FRAME = SAMPLE_RATE // 10  # the truth's resolution: 0.1 s
# Share of each kind of mixture.
KINDS = {
    "speech+music": 0.4,
    "speech+noise": 0.15,
    "speech": 0.15,
    "music": 0.12,
    "music+noise": 0.06,
    "noise": 0.12,
}
ACTIVE_BELOW_PEAK_DB = 35.0  # a 0.1 s frame is "heard" within this of its part's loudest frame
ACTIVE_FLOOR_DBFS = -55.0
SPEECH_GAP_BRIDGED_S = 0.5  # pauses between words are still speech


def frame_db(samples: np.ndarray) -> np.ndarray:
    frames = len(samples) // FRAME
    power = np.square(samples[: frames * FRAME].reshape(frames, FRAME), dtype=np.float64).mean(axis=1)
    return 10 * np.log10(np.maximum(power, 1e-12))


def active_frames(samples: np.ndarray, bridge_s: float = 0.0) -> np.ndarray:
    """Per 0.1 s frame, whether the part is heard there; gaps shorter than `bridge_s` filled."""
    levels = frame_db(samples)
    if not len(levels):
        return np.zeros(0, bool)
    active = levels > max(ACTIVE_FLOOR_DBFS, levels.max() - ACTIVE_BELOW_PEAK_DB)
    longest = int(round(bridge_s * 10))
    if longest:
        on = np.flatnonzero(active)
        for a, b in zip(on[:-1], on[1:]):
            if 1 < b - a <= longest + 1:
                active[a:b] = True
    return active


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


class Audio:
    """Decoded corpus files, kept once decoded."""

    def __init__(self) -> None:
        self.cache: dict[Path, np.ndarray] = {}

    def __call__(self, corpus_file: CorpusFile) -> np.ndarray:
        if corpus_file.path not in self.cache:
            try:
                self.cache[corpus_file.path] = decode(corpus_file.path).samples
            except AudioDecodeError:
                self.cache[corpus_file.path] = np.zeros(0, np.float32)
        return self.cache[corpus_file.path]


def excerpt(samples: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """`length` samples from a random place; a shorter recording is looped."""
    if len(samples) >= length:
        start = int(rng.integers(0, len(samples) - length + 1))
        return samples[start : start + length]
    return np.tile(samples, -(-length // len(samples)))[:length]


def speech_track(
    files: Sequence[CorpusFile], audio: Audio, length: int, rng: np.random.Generator
) -> np.ndarray:
    """Utterances one after another with pauses of 0-2 s, starting 0-3 s in: a track with edges."""
    track = np.zeros(length, np.float32)
    at = int(rng.uniform(0, 3) * SAMPLE_RATE)
    while at < length - SAMPLE_RATE:
        utterance = audio(files[int(rng.integers(len(files)))])
        if len(utterance) < SAMPLE_RATE // 2:
            continue
        utterance = utterance[: length - at] / (np.abs(utterance).max() + 1e-9)
        track[at : at + len(utterance)] = utterance
        at += len(utterance) + int(rng.uniform(0, 2) * SAMPLE_RATE)
    return track


def bed(
    files: Sequence[CorpusFile], audio: Audio, length: int, rng: np.random.Generator, whole: bool
) -> np.ndarray:
    """Music or noise for the whole mixture, or (half the time unless `whole`) from a random
    start to a random end of at least 3 s."""
    for _ in range(20):
        samples = audio(files[int(rng.integers(len(files)))])
        if len(samples) >= SAMPLE_RATE // 2:
            break
    piece = excerpt(samples, length, rng).astype(np.float32)
    piece = piece / (np.abs(piece).max() + 1e-9)
    if whole or rng.random() < 0.5:
        return piece
    start = int(rng.uniform(0, length / SAMPLE_RATE - 3) * SAMPLE_RATE)
    end = int(rng.uniform(start / SAMPLE_RATE + 3, length / SAMPLE_RATE) * SAMPLE_RATE)
    out = np.zeros(length, np.float32)
    out[start:end] = piece[start:end]
    return out


def make_mixture(
    kind: str, by_class: dict[str, list[CorpusFile]], audio: Audio, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Audio, per 0.1 s frame speech heard and music heard, and music's level relative to the
    speech in dB (nan where there is not both)."""
    length = int(MIXTURE_S * SAMPLE_RATE)
    speech = speech_track(by_class["speech"], audio, length, rng) if "speech" in kind else None
    music = bed(by_class["music"], audio, length, rng, whole=kind == "music") if "music" in kind else None
    noise = bed(by_class["noise"], audio, length, rng, whole=True) if "noise" in kind else None
    frames = length // FRAME
    speech_on = active_frames(speech, SPEECH_GAP_BRIDGED_S) if speech is not None else np.zeros(frames, bool)
    music_on = active_frames(music) if music is not None else np.zeros(frames, bool)
    level_db = float("nan")
    mixed = np.zeros(length, np.float32)
    if speech is not None:
        mixed += speech
        reference = rms(speech[np.repeat(speech_on, FRAME)[:length]]) or 1.0
    if music is not None:
        music_level = rms(music[np.repeat(music_on, FRAME)[:length]]) or 1.0
        if speech is not None:
            level_db = float(rng.uniform(-25, 5))
            music *= reference * 10 ** (level_db / 20) / music_level
        mixed += music
    if noise is not None:
        if speech is not None or music is not None:
            loudest = max(rms(mixed[np.repeat(speech_on | music_on, FRAME)[:length]]), 1e-4)
            noise *= loudest * 10 ** (-rng.uniform(0, 25) / 20) / (rms(noise) or 1.0)
        mixed += noise
    if not (speech_on & music_on).any():
        level_db = float("nan")
    mixed *= rng.uniform(0.1, 0.9) / (np.abs(mixed).max() + 1e-9)
    return mixed.astype(np.float32), speech_on, music_on, level_db


def patch_frames(step_count: int) -> np.ndarray:
    """For each 0.1 s frame, the step (third of a patch) its centre lies in."""
    step = PATCH_SAMPLES / THIRDS
    centres = (np.arange(int(step_count * step / FRAME)) + 0.5) * FRAME
    return (centres // step).astype(int)


def fold_parts(files: Sequence[CorpusFile], folds: list[list[str]], fold: int) -> dict[str, list[CorpusFile]]:
    """What a mixture of `fold` may be made of, by class: that fold's sources only, so a head
    cross-validated by fold never hears a held-out voice, song or noise in a mixture either."""
    held = set(folds[fold])
    return {
        label: [f for f in files if f.source in held and f.label == label]
        for label in ("music", "speech", "noise")
    }


def build(corpus: Path, mixtures: int, seed: int = 0) -> dict[str, np.ndarray]:
    files = scan_corpus(corpus)
    kinds_by_source = source_kinds(corpus)
    folds = source_folds(files, FOLDS, seed)
    fold_of = {source: k for k, fold in enumerate(folds) for source in fold}
    network = Pretrained(embeddings=True)
    audio = Audio()
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {name: [] for name in ("embedding", "scores", "fold", "origin", "family", "item")}
    tracks: dict[str, list] = {
        name: []
        for name in (
            "embedding",
            "context",
            "scores",
            "fold",
            "speech",
            "music",
            "level",
            "kind",
            "item",
            "origin",
        )
    }
    began = time.monotonic()
    for n, corpus_file in enumerate(files):
        samples = audio(corpus_file)
        if not len(samples):
            continue
        outputs = network.patch_layers(samples)
        scores, embedding = outputs.scores, outputs.embedding
        count = len(scores)
        out["embedding"].append(embedding.astype(np.float16))
        out["scores"].append(scores.astype(np.float16))
        out["fold"].append(np.full(count, fold_of[corpus_file.source]))
        out["origin"].append(
            np.full(count, kinds_by_source.get(corpus_file.source, "real-world"), dtype=object)
        )
        out["family"].append(np.full(count, FAMILIES.index(family_of(corpus_file))))
        out["item"].append(np.full(count, n))
        if n % 500 == 0:
            log(f"corpus: {n}/{len(files)} files, {time.monotonic() - began:.0f} s")
    names, weights = list(KINDS), np.array(list(KINDS.values()))
    for m in range(mixtures):
        fold = m % FOLDS
        by_class = {
            label: [f for f in parts if len(audio(f))]
            for label, parts in fold_parts(files, folds, fold).items()
        }
        kind = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        samples, speech_on, music_on, level_db = make_mixture(kind, by_class, audio, rng)
        outputs = network.patch_layers(samples)
        embedding = outputs.thirds
        scores = np.repeat(outputs.scores, THIRDS, axis=0)
        context = np.repeat(outputs.embedding, THIRDS, axis=0)
        owner = patch_frames(len(scores))
        count = len(scores)
        frames = min(len(owner), len(speech_on))
        speech_share = np.bincount(owner[:frames], speech_on[:frames], minlength=count) / np.maximum(
            np.bincount(owner[:frames], minlength=count), 1
        )
        music_share = np.bincount(owner[:frames], music_on[:frames], minlength=count) / np.maximum(
            np.bincount(owner[:frames], minlength=count), 1
        )
        tracks["embedding"].append(embedding.astype(np.float16))
        tracks["scores"].append(scores.astype(np.float16))
        tracks["context"].append(context.astype(np.float16))
        tracks["fold"].append(np.full(count, fold))
        tracks["speech"].append(speech_share.astype(np.float32))
        tracks["music"].append(music_share.astype(np.float32))
        tracks["level"].append(np.full(count, level_db, np.float32))
        tracks["kind"].append(np.full(count, kind, dtype=object))
        tracks["item"].append(np.full(count, m))
        tracks["origin"].append(np.full(count, "mixture", dtype=object))
        if m % 200 == 0:
            log(f"mixtures: {m}/{mixtures}, {time.monotonic() - began:.0f} s")
    result = {f"corpus_{k}": np.concatenate(v) for k, v in out.items()}
    result.update({f"mix_{k}": np.concatenate(v) for k, v in tracks.items()})
    return {k: (v.astype(str) if v.dtype == object else v) for k, v in result.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--mixtures", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = build(args.corpus, args.mixtures, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, allow_pickle=False, **data)
    log(f"{len(data['corpus_fold'])} corpus patches, {len(data['mix_fold'])} mixture patches -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
