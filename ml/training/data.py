"""A MUSAN-layout corpus, split by source, and the windows of features it yields.

Layout: ``<root>/{music,speech,noise}/<source>/.../*.{flac,wav,...}`` (the real MUSAN works
too). Files of one source share a recording chain, a composer or a speaker, so every split here
keeps whole sources on one side: segments of one recording on both sides inflate accuracy.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import CLASS_NAMES
from ml.audio import AudioDecodeError, decode
from ml.features import FeatureSettings, extract

AUDIO_SUFFIXES = {".flac", ".wav", ".ogg", ".opus", ".mp3", ".m4a", ".webm"}


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    label: str
    source: str  # "<label>/<source>": two classes never share a source name by accident
    # Sources that share a recording chain (one Debian package family or one repository, from the
    # manifest's origin) share a group; splits and folds keep a group on one side.
    group: str = ""

    @property
    def split_group(self) -> str:
        return self.group or self.source

    @property
    def label_index(self) -> int:
        return CLASS_NAMES.index(self.label)


@dataclass(frozen=True)
class Split:
    train: list[CorpusFile]
    validation: list[CorpusFile]
    test: list[CorpusFile]

    def sources(self) -> dict[str, list[str]]:
        return {
            name: sorted({f.source for f in files})
            for name, files in (
                ("train", self.train),
                ("validation", self.validation),
                ("test", self.test),
            )
        }


MANIFEST_FILE = "manifest.csv"


def origin_group(origin: str) -> str:
    """The package family or repository an origin names: "Debian ufoai-sound 2.5-2 (...)" and
    "Debian ufoai-music 2.5-2" are both "debian:ufoai"; "IBM/MAX-Audio-Classifier@3c30:x.wav" is
    "repo:ibm/max-audio-classifier". Erring towards larger groups only costs fold balance."""
    debian = re.match(r"Debian\s+([a-z0-9.+]+)", origin)
    if debian:
        return "debian:" + debian.group(1)
    repository = re.match(r"([\w.-]+/[\w.-]+)@", origin)
    if repository:
        return "repo:" + repository.group(1).lower()
    return "origin:" + origin.split("(")[0].strip().lower()


def read_groups(root: Path) -> dict[str, str]:
    """Source ("<label>/<source>") -> group, from the corpus manifest where there is one. A source
    whose files name several origins takes the first; sources sharing any group are joined."""
    manifest = root / MANIFEST_FILE
    if not manifest.is_file():
        return {}
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, str] = {}
    for row in rows:
        parts = Path(row["path"]).parts
        if len(parts) < 3 or not row.get("origin"):
            continue
        groups.setdefault(f"{parts[0]}/{parts[1]}", origin_group(row["origin"]))
    return groups


def scan_corpus(root: str | Path) -> list[CorpusFile]:
    """Every audio file under <root>/<class>/<source>/, sorted for determinism, each with its
    source's group from the manifest (or its own source where the manifest is silent)."""
    root = Path(root)
    groups = read_groups(root)
    files = []
    for label in CLASS_NAMES:
        class_dir = root / label
        if not class_dir.is_dir():
            raise FileNotFoundError(f"{class_dir} is missing: expected <corpus>/{label}/<source>/")
        for path in sorted(class_dir.rglob("*")):
            if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
                relative = path.relative_to(class_dir)
                source = relative.parts[0] if len(relative.parts) > 1 else "unknown"
                name = f"{label}/{source}"
                files.append(CorpusFile(path, label, name, groups.get(name, name)))
    if not files:
        raise FileNotFoundError(f"no audio files under {root}")
    return files


def fingerprint(files: Iterable[CorpusFile]) -> str:
    """A short hash of file names and sizes: says whether two runs saw the same corpus."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.source}/{f.path.name}:{f.path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def sources_by_class(files: Sequence[CorpusFile]) -> dict[str, list[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for f in files:
        grouped[f.label].add(f.source)
    return {label: sorted(grouped[label]) for label in CLASS_NAMES}


def groups_by_class(files: Sequence[CorpusFile]) -> dict[str, list[str]]:
    """Each group under the class most of its files belong to (a game's music, effects and
    voices are one group; it is dealt as a unit, by its largest class)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in files:
        counts[f.split_group][f.label] += 1
    grouped: dict[str, list[str]] = {label: [] for label in CLASS_NAMES}
    for group, by_label in sorted(counts.items()):
        main_label = max(CLASS_NAMES, key=lambda label: (by_label.get(label, 0), -CLASS_NAMES.index(label)))
        grouped[main_label].append(group)
    return grouped


def sources_of_groups(files: Sequence[CorpusFile], groups: Iterable[str]) -> list[str]:
    wanted = set(groups)
    return sorted({f.source for f in files if f.split_group in wanted})


def split_by_source(
    files: Sequence[CorpusFile], seed: int = 0, test_fraction: float = 0.2, val_fraction: float = 0.15
) -> Split:
    """Whole source groups to train / validation / test, per class, at least one group each where
    the class has three or more."""
    rng = random.Random(seed)
    assignment: dict[str, str] = {}
    for groups in groups_by_class(files).values():
        shuffled = list(groups)
        rng.shuffle(shuffled)
        n_test = _share(len(shuffled), test_fraction)
        n_val = _share(len(shuffled), val_fraction)
        for i, group in enumerate(shuffled):
            assignment[group] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    parts: dict[str, list[CorpusFile]] = defaultdict(list)
    for f in files:
        parts[assignment[f.split_group]].append(f)
    return Split(parts["train"], parts["validation"], parts["test"])


def _share(count: int, fraction: float) -> int:
    """How many of `count` sources a split gets: at least one if it asks for any and the class
    has three sources or more (so training always keeps one)."""
    if fraction <= 0 or count < 3:
        return 0
    return max(1, round(count * fraction))


def source_folds(files: Sequence[CorpusFile], k: int, seed: int = 0) -> list[list[str]]:
    """The sources of k folds: whole source groups, each class's groups dealt round-robin so
    every fold holds every class (where the class has k groups or more)."""
    rng = random.Random(seed)
    folds: list[list[str]] = [[] for _ in range(k)]
    offset = 0
    for groups in groups_by_class(files).values():
        shuffled = list(groups)
        rng.shuffle(shuffled)
        for i, group in enumerate(shuffled):
            folds[(i + offset) % k].append(group)
        offset += len(shuffled)
    return [sources_of_groups(files, fold) for fold in folds]


@dataclass
class WindowSet:
    """Windows of features with their label, file and source, ready for Keras."""

    features: np.ndarray
    labels: np.ndarray
    file_ids: np.ndarray
    sources: np.ndarray
    files: list[CorpusFile]

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def concat(cls, parts: Sequence[WindowSet]) -> WindowSet:
        files: list[CorpusFile] = []
        file_ids = []
        for part in parts:
            file_ids.append(part.file_ids + len(files))
            files.extend(part.files)
        return cls(
            features=np.concatenate([p.features for p in parts]),
            labels=np.concatenate([p.labels for p in parts]),
            file_ids=np.concatenate(file_ids),
            sources=np.concatenate([p.sources for p in parts]),
            files=files,
        )


Transform = Callable[[np.ndarray, CorpusFile], np.ndarray]


def _windows_of(job: tuple[CorpusFile, FeatureSettings, Transform | None]) -> np.ndarray | None:
    corpus_file, settings, transform = job
    try:
        samples = decode(corpus_file.path).samples
    except AudioDecodeError:
        return None
    if transform is not None:
        samples = transform(samples, corpus_file)
    return extract(samples, settings).features


def load_windows(
    files: Sequence[CorpusFile],
    settings: FeatureSettings,
    transform: Transform | None = None,
    workers: int = 2,
) -> WindowSet:
    """Decode every file (skipping undecodable ones), optionally transform it, cut it into windows."""
    jobs = [(f, settings, transform) for f in files]
    if workers > 1 and len(jobs) > 8:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_windows_of, jobs, chunksize=8))
    else:
        results = [_windows_of(job) for job in jobs]
    kept = [(f, r) for f, r in zip(files, results) if r is not None and len(r)]
    return WindowSet(
        features=np.concatenate([r for _, r in kept]),
        labels=np.concatenate([np.full(len(r), f.label_index) for f, r in kept]),
        file_ids=np.concatenate([np.full(len(r), i) for i, (_, r) in enumerate(kept)]),
        sources=np.concatenate([np.full(len(r), f.source, dtype=object) for f, r in kept]),
        files=[f for f, _ in kept],
    )


def source_balanced_weights(windows: WindowSet) -> np.ndarray:
    """Per-window weights where every class weighs the same in total and, within a class, every
    source the same: 300 one-second effects of one game and three long field recordings of another
    each get half of what their class gets. Mean weight 1."""
    weights = np.zeros(len(windows), dtype=np.float64)
    for label in np.unique(windows.labels):
        in_class = windows.labels == label
        sources, counts = np.unique(windows.sources[in_class], return_counts=True)
        for source, count in zip(sources, counts):
            weights[in_class & (windows.sources == source)] = 1.0 / (len(sources) * count)
    return (weights * len(windows) / weights.sum()).astype(np.float32)


def balanced_weights(windows: WindowSet) -> np.ndarray:
    """Per-window training weights: every class weighs the same in total (noise is scarce), and
    within a class a source weighs by the square root of its size, so a 25-minute source does not
    drown a 30-second one, nor does the 30-second one get repeated into memorisation."""
    weights = np.zeros(len(windows), dtype=np.float32)
    for label in np.unique(windows.labels):
        in_class = windows.labels == label
        sources, counts = np.unique(windows.sources[in_class], return_counts=True)
        for source, count in zip(sources, counts):
            in_source = in_class & (windows.sources == source)
            weights[in_source] = np.sqrt(count) / count
        weights[in_class] /= weights[in_class].sum()
    return weights * len(windows) / weights.sum()


def subset(windows: WindowSet, sources: set[str]) -> WindowSet:
    keep = np.isin(windows.sources, list(sources))
    kept_ids = np.unique(windows.file_ids[keep])
    remap = {old: new for new, old in enumerate(kept_ids)}
    return WindowSet(
        features=windows.features[keep],
        labels=windows.labels[keep],
        file_ids=np.array([remap[i] for i in windows.file_ids[keep]]),
        sources=windows.sources[keep],
        files=[windows.files[i] for i in kept_ids],
    )


def assert_disjoint(train_sources: set[str], held_out: set[str]) -> None:
    shared = train_sources & held_out
    if shared:
        raise AssertionError(f"sources on both sides of a fold: {sorted(shared)}")
