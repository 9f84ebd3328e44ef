"""What a clip is shown as: one rule, used by the result page, history, API, exports and admin.

- **Shown label** of a segment: the owner's correction of that segment, else the owner's
  correction of the whole clip (silence stays silence: it is a level, not a class), else the
  model's. Of a clip: the owner's correction; else, for a mixed clip, the class holding the most
  time (so "Music 31 s · speech 29 s" is filed under music); else the model's. A clip whose owner
  corrected segments (not the clip) and that is not mixed is answered from its timeline as
  corrected: the class with the most time (so marking a clip's speech as silence answers music).
- **Time shares**: seconds per class (music, speech, noise, silence) from the timeline, each
  segment counted under its shown label.
- **Mixed**: two or more of music / speech / noise each hold at least MIXED_MIN_SHARE of the
  clip's non-silent time and at least MIXED_MIN_S seconds. A mixed clip is answered with its
  shares ("Speech 24 s · music 13 s"), never one confident label; a correction of the whole clip
  by its owner ends that (the owner's word is the answer).
- A clip whose timeline is all silence is shown as silence.
- **Layers**: where speech and where music are heard (the model's tracks; none of music once
  its owner said "there is no music here"). Music under speech is the time both are heard; a clip
  answered speech with at least MIXED_MIN_S of music under it is answered "Speech with music
  under it · music 40 s at about -14 dB". A segment's family shows while the segment keeps the
  model's class (a correction to another class leaves it without one).
- **Unsure**: a clip is unsure when a segment that decides its answer is unsure (a segment of
  its label, or of any class holding a share of a mixed clip) and nobody corrected it; a clip
  whose deciding segments are all sure is not. Only when no segment carries the label (a timeline
  of silence, say) does the model's own clip-level hesitation count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ml import CLASS_NAMES, SILENCE, TIMELINE_LABELS

if TYPE_CHECKING:  # the rule reads rows; it never queries for them
    from classify.models import Classification, Segment

MIXED_MIN_SHARE = 0.2
MIXED_MIN_S = 2.0
MOSTLY_SHARE = 0.6  # "Mostly speech, with music" from this share of the non-silent time


def shown_segment_label(model_label: str, corrected_label: str, clip_corrected_label: str = "") -> str:
    """A segment as shown: its own correction, else the clip's (not over silence), else the model's."""
    if corrected_label:
        return corrected_label
    if clip_corrected_label and model_label != SILENCE:
        return clip_corrected_label
    return model_label


def segment_unsure(uncertain: bool, corrected_label: str, clip_corrected_label: str = "") -> bool:
    """The model hesitated here and nobody answered for it (the segment or the whole clip)."""
    return uncertain and not corrected_label and not clip_corrected_label


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    label: str  # the model's
    corrected_label: str = ""
    uncertain: bool = False
    clip_corrected_label: str = ""
    family: str = ""

    @property
    def shown(self) -> str:
        return shown_segment_label(self.label, self.corrected_label, self.clip_corrected_label)

    @property
    def unsure(self) -> bool:
        return segment_unsure(self.uncertain, self.corrected_label, self.clip_corrected_label)


@dataclass(frozen=True)
class Layered:
    """Music under speech, and the families heard, as shown."""

    has_music: bool = False
    music_under_s: float = 0.0
    music_level_db: float | None = None
    families: tuple[str, ...] = ()

    def under_speech(self) -> str:
        """ "music 40 s at about -14 dB" ("" when there is not enough to say)."""
        if self.music_under_s < MIXED_MIN_S:
            return ""
        level = f" at about {self.music_level_db:+.0f} dB" if self.music_level_db is not None else ""
        return f"music {spoken_seconds(self.music_under_s)}{level}"


def overlap_s(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> float:
    return sum(max(0.0, min(a["end"], b["end"]) - max(a["start"], b["start"])) for a in first for b in second)


def layered(tracks: dict[str, Any] | None, no_music: bool, spans: Iterable[Span] = ()) -> Layered:
    """The layers as shown from the model's tracks, the owner's "no music" and the timeline."""
    speech = (tracks or {}).get("speech", [])
    music = [] if no_music else (tracks or {}).get("music", [])
    leveled = [(m["end"] - m["start"], m["level_db"]) for m in music if m.get("level_db") is not None]
    weight = sum(seconds for seconds, _ in leveled)
    families: list[str] = []
    for span in spans:
        if span.family and span.shown == span.label and span.family not in families:
            families.append(span.family)
    return Layered(
        has_music=bool(music),
        music_under_s=round(overlap_s(speech, music), 2),
        music_level_db=round(sum(s * level for s, level in leveled) / weight, 1) if weight else None,
        families=tuple(families),
    )


@dataclass(frozen=True)
class Summary:
    shown_label: str
    mixed: bool
    uncertain: bool
    shares: dict[str, float]  # seconds per timeline label, all four present
    holding: list[str]  # classes holding a real share, largest first
    # The answer is the owner's: a clip correction, or segment corrections that changed it.
    by_owner: bool = False
    layers: Layered = Layered()

    @property
    def music_under(self) -> str:
        """ "music 40 s at about -14 dB" for speech with music under it, else ""."""
        return self.layers.under_speech() if self.shown_label == "speech" and not self.mixed else ""

    def headline(self) -> str:
        """ "Speech 24 s · music 13 s" for a mixed clip, "Speech with music under it · music 40 s at
        about -14 dB" for speech over music, else the shown label."""
        if self.music_under:
            return f"Speech with music under it · {self.music_under}"
        if not self.mixed:
            return self.shown_label
        parts = [f"{name} {spoken_seconds(self.shares[name])}" for name in self.holding]
        return (parts[0][0].upper() + parts[0][1:] + " · " + " · ".join(parts[1:])).strip(" ·")

    def gist(self) -> str:
        """ "Mostly speech, with music" / "Speech and music" for a mixed clip."""
        if not self.mixed:
            return self.shown_label.capitalize()
        top, rest = self.holding[0], self.holding[1:]
        if self.shares[top] >= MOSTLY_SHARE * self.voiced_s:
            return f"Mostly {top}, with {_listed(rest)}"
        return _listed(self.holding).capitalize()

    @property
    def voiced_s(self) -> float:
        return sum(self.shares[name] for name in CLASS_NAMES)

    def share_pct(self) -> dict[str, float]:
        """Percent of the whole clip per label (silence included), for time bars."""
        total = sum(self.shares.values()) or 1.0
        return {name: 100 * seconds / total for name, seconds in self.shares.items()}


def spoken_seconds(seconds: float) -> str:
    """4.51 -> "4.5 s", 24 -> "24 s", 1208 -> "20 min", 7260 -> "2 h 1 min", 21600 -> "6 h":
    durations as people say them."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def clock(seconds: float) -> str:
    """5252.7 -> "1:27:32.7", 75.25 -> "1:15.3": a moment in a long recording, as its zoom view and
    any player say it."""
    tenths = round(seconds * 10)
    minutes, tenths_left = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    rest = f"{tenths_left // 10:02d}.{tenths_left % 10}"
    return f"{hours}:{minutes:02d}:{rest}" if hours else f"{minutes}:{rest}"


def span_text(start: float, end: float, duration_s: float | None) -> str:
    """A segment's place: "12.0–15.5 s" in a short clip, "1:27:32.7–1:27:39.2" in a long one."""
    if (duration_s or 0) < CLOCK_FROM_S:
        return f"{start:.1f}–{end:.1f} s"
    return f"{clock(start)}–{clock(end)}"


CLOCK_FROM_S = 600
# A clip is "taking longer than usual" when it has waited this long for a worker, or a worker has
# held it this long without reporting progress. A long recording that reports progress is long,
# not late, however long it takes.
LATE_AFTER_S = 20.0


def is_late(status: str, waiting_s: float | None, working_s: float | None, reports_progress: bool) -> bool:
    if status == "queued":
        return (waiting_s or 0) > LATE_AFTER_S
    if status == "processing":
        return not reports_progress and (working_s or 0) > LATE_AFTER_S
    return False  # clips from 10 minutes say where things are on a clock


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def time_shares(spans: Iterable[Span]) -> dict[str, float]:
    shares = dict.fromkeys(TIMELINE_LABELS, 0.0)
    for span in spans:
        shares[span.shown] = shares.get(span.shown, 0.0) + max(0.0, span.end - span.start)
    return {name: round(seconds, 2) for name, seconds in shares.items()}


def holding_shares(shares: dict[str, float]) -> list[str]:
    """The classes holding a real share of the non-silent time, largest first."""
    voiced = sum(shares.get(name, 0.0) for name in CLASS_NAMES)
    return sorted(
        (
            name
            for name in CLASS_NAMES
            if voiced and shares.get(name, 0.0) >= max(MIXED_MIN_S, MIXED_MIN_SHARE * voiced)
        ),
        key=lambda name: -shares[name],
    )


def summarize(
    model_label: str, corrected_label: str, model_uncertain: bool, spans: Iterable[Span]
) -> Summary:
    spans = [replace(span, clip_corrected_label=corrected_label) for span in spans]
    shares = time_shares(spans)
    holding = holding_shares(shares)
    if corrected_label:
        return Summary(corrected_label, False, False, shares, holding, by_owner=True)
    retimed = any(span.corrected_label for span in spans)
    if spans and not any(shares[name] for name in CLASS_NAMES):  # nothing but silence
        label, mixed = SILENCE, False
    else:
        mixed = len(holding) >= 2
        label = holding[0] if mixed else max(CLASS_NAMES, key=shares.__getitem__) if retimed else model_label
    deciding = set(holding) if mixed else {label}
    decisive = [span for span in spans if span.shown in deciding and span.shown != SILENCE]
    uncertain = any(span.unsure for span in decisive) if decisive else model_uncertain and label != SILENCE
    return Summary(
        label, mixed, uncertain, shares, holding, by_owner=owners_answer(label, mixed, model_label)
    )


def owners_answer(shown_label: str, mixed: bool, model_label: str) -> bool:
    """Whether the owner's corrections, not the model, gave the clip its label: a single answer
    other than the model's can only come from them (a mixed clip's label is its largest share)."""
    return not mixed and shown_label != model_label


def stored(result: Classification) -> Summary:
    """The summary kept on a Classification row (no segment query: for lists and exports)."""
    shares = {**dict.fromkeys(TIMELINE_LABELS, 0.0), **(result.shares or {})}
    shown_label = result.shown_label or result.label
    return Summary(
        shown_label,
        result.mixed,
        result.uncertain,
        shares,
        holding_shares(shares),
        by_owner=bool(result.corrected_label) or owners_answer(shown_label, result.mixed, result.label),
        layers=Layered(result.has_music, result.music_under_s, result.music_level_db, tuple(result.families)),
    )


def summarize_result(result: Classification, segments: Iterable[Segment] | None = None) -> Summary:
    """The summary of a Classification row and its segments (prefetched ones, where they were)."""
    rows = result.segments.all() if segments is None else segments
    spans = [
        Span(s.start, s.end, s.label, s.corrected_label, s.uncertain, result.corrected_label, s.family)
        for s in rows
    ]
    found = summarize(result.label, result.corrected_label, result.model_uncertain, spans)
    return replace(found, layers=layered(result.tracks, result.no_music, spans))


def refresh(result: Classification) -> Summary:
    """Store a result's summary on its row (shown label, mixed, unsure, shares, layers): what
    filters, history and exports read. Called when the result is saved and after every correction,
    so it reads the segments from the database: a list prefetched before a correction is stale."""
    summary = summarize_result(result, result.segments.order_by("index"))
    result.shown_label, result.mixed = summary.shown_label, summary.mixed
    result.uncertain, result.shares = summary.uncertain, summary.shares
    result.has_music, result.music_under_s = summary.layers.has_music, summary.layers.music_under_s
    result.music_level_db, result.families = summary.layers.music_level_db, list(summary.layers.families)
    result.save(
        update_fields=[
            *("shown_label", "mixed", "uncertain", "shares"),
            *("has_music", "music_under_s", "music_level_db", "families"),
        ]
    )
    return summary
