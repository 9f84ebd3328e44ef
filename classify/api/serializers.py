"""The API's declared shapes (for the schema); the values are classify/clips/public.py's rows."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from classify.clips import public
from classify.clips.corrections import NO_MUSIC
from classify.models import Clip
from ml import CLASS_NAMES, TIMELINE_LABELS
from ml.families import FAMILIES


class ProbabilitiesSerializer(serializers.Serializer):
    music = serializers.FloatField()
    speech = serializers.FloatField()
    noise = serializers.FloatField()


class TagSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="an AudioSet class the pretrained network heard")
    score = serializers.FloatField()


class SpanSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()


class MusicSpanSerializer(SpanSerializer):
    level_db = serializers.FloatField(
        required=False, help_text="music's level relative to the speech heard with it (negative: under it)"
    )


class TracksSerializer(serializers.Serializer):
    """Where speech and where music are heard, overlapping where both are."""

    speech = SpanSerializer(many=True)
    music = MusicSpanSerializer(many=True)


class SegmentSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="counted from 0: what corrections take as `segment`")
    start = serializers.FloatField()
    end = serializers.FloatField()
    label = serializers.ChoiceField(
        choices=TIMELINE_LABELS, help_text="as shown: the owner's correction, else the model's"
    )
    model_label = serializers.ChoiceField(choices=TIMELINE_LABELS, help_text="silence: below the level floor")
    probabilities = ProbabilitiesSerializer()
    corrected_label = serializers.ChoiceField(choices=TIMELINE_LABELS, allow_null=True)
    uncertain = serializers.BooleanField(help_text="the model hesitated here and nobody corrected it")
    family = serializers.ChoiceField(
        choices=FAMILIES, allow_null=True, help_text="what kind of music, speech or noise (null: silence)"
    )
    tags = TagSerializer(many=True, help_text="up to three AudioSet classes, strongest first")


class SharesSerializer(serializers.Serializer):
    """Seconds of the clip per label, from its timeline as shown."""

    music = serializers.FloatField()
    speech = serializers.FloatField()
    noise = serializers.FloatField()
    silence = serializers.FloatField()


class ProgressSegmentSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    label = serializers.ChoiceField(choices=TIMELINE_LABELS)
    uncertain = serializers.BooleanField()


class ProgressSerializer(serializers.Serializer):
    """A long clip while it is processed: updated by the worker every few seconds."""

    done_s = serializers.FloatField(help_text="seconds of audio classified so far")
    total_s = serializers.FloatField(
        allow_null=True, help_text="the recording's length, when its header says"
    )
    rate = serializers.FloatField(help_text="seconds of audio per second of work")
    left_s = serializers.FloatField(allow_null=True, help_text="about how long until done")
    segments = ProgressSegmentSerializer(many=True, help_text="the timeline so far; its end is provisional")
    at = serializers.DateTimeField()


class CorrectionRequestSerializer(serializers.Serializer):
    label = serializers.ChoiceField(
        choices=(*TIMELINE_LABELS, NO_MUSIC),
        help_text='music, speech or noise; a segment may also be silence; "no-music" (the whole clip): '
        "there is no music here",
    )
    segment = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=999_999,
        help_text="segment index, counted from 0; omit for the whole clip",
    )


class CorrectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    segment = serializers.IntegerField(source="segment.index", allow_null=True, default=None)
    old_label = serializers.CharField()
    new_label = serializers.CharField()
    created_at = serializers.DateTimeField()


class ClipSerializer(serializers.Serializer):
    """A clip as classify/clips/public.py lays it out, with its timeline and links. The fields are
    declared for the schema; the values come from the public rows, not from here."""

    id = serializers.IntegerField(read_only=True)
    filename = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Clip.Status.choices, read_only=True)
    late = serializers.BooleanField(
        help_text="taking longer than usual: queued over 20 s, or held by a worker that reports no progress"
    )
    label = serializers.ChoiceField(
        choices=TIMELINE_LABELS,
        allow_null=True,
        help_text="as shown: the owner's correction; a mixed clip's largest share; else the model's",
    )
    answer = serializers.CharField(
        allow_null=True,
        help_text='in words: "speech", or a mixed clip\'s shares ("Speech 24 s · music 13 s")',
    )
    model_label = serializers.ChoiceField(choices=TIMELINE_LABELS, allow_null=True)
    corrected_label = serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    uncertain = serializers.BooleanField(
        allow_null=True,
        help_text="the model hesitated on a part that decides the answer and nobody corrected it",
    )
    mixed = serializers.BooleanField(
        allow_null=True, help_text="two or more classes each hold a real share of the time"
    )
    shares = SharesSerializer(allow_null=True)
    probabilities = ProbabilitiesSerializer(allow_null=True)
    has_music = serializers.BooleanField(
        allow_null=True, help_text="music is heard somewhere, under speech or not"
    )
    music_under_speech_s = serializers.FloatField(
        allow_null=True, help_text="seconds of music heard under speech"
    )
    music_level_db = serializers.FloatField(
        allow_null=True, help_text="the music's level relative to the speech over it, in dB"
    )
    no_music = serializers.BooleanField(allow_null=True, help_text="the owner said there is no music here")
    families = serializers.ListField(
        child=serializers.ChoiceField(choices=FAMILIES), allow_null=True, help_text="heard, in time order"
    )
    duration_s = serializers.FloatField(allow_null=True)
    segments = SegmentSerializer(many=True)
    tracks = TracksSerializer(allow_null=True)
    progress = ProgressSerializer(
        allow_null=True, help_text="while processing: seconds done of the total, rate, time left"
    )
    model_version = serializers.CharField(allow_null=True)
    processing_s = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    audio_url = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    sample_rate = serializers.IntegerField(allow_null=True)
    channels = serializers.IntegerField(allow_null=True)

    def to_representation(self, clip: Clip) -> dict:
        dates = serializers.DateTimeField()
        url = reverse("api-clip-audio", args=[clip.pk])
        request = self.context.get("request")
        listing = "segments" not in self.fields
        progress = clip.progress if clip.status == Clip.Status.PROCESSING and clip.progress else None
        values = {
            **public.clip_row(clip),
            "segments": [] if listing else list(public.segment_rows(clip.result, prefetched=True)),
            "tracks": public.shown_tracks(clip.result) if clip.result and not listing else None,
            "progress": {k: v for k, v in progress.items() if k != "segments"}
            if progress and listing
            else progress,
            "created_at": dates.to_representation(clip.created_at),
            "finished_at": dates.to_representation(clip.finished_at) if clip.finished_at else None,
            "audio_url": request.build_absolute_uri(url) if request else url,
            "size_bytes": clip.size_bytes,
            "sha256": clip.sha256,
            "sample_rate": clip.sample_rate,
            "channels": clip.channels,
        }
        return {name: values[name] for name in self.fields}


class ProgressSummarySerializer(ProgressSerializer):
    segments = None  # type: ignore[assignment]  # a list row carries no timeline


class ClipListItemSerializer(ClipSerializer):
    """A clip in a list: its answer without its timeline, tracks or the timeline so far (read the
    clip for those), so a page of long recordings stays a few kilobytes."""

    segments = None  # type: ignore[assignment]
    tracks = None  # type: ignore[assignment]
    progress = ProgressSummarySerializer(allow_null=True, help_text="while processing: done, rate, time left")


class ClipUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An audio file: wav, flac, ogg, opus, mp3, m4a or webm.")


class HistoryRowSerializer(serializers.Serializer):
    """One row of the history export (classify/clips/history_export.py)."""

    id = serializers.IntegerField()
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=Clip.Status.values)
    label = serializers.ChoiceField(choices=TIMELINE_LABELS, allow_null=True, help_text="as shown")
    answer = serializers.CharField(allow_null=True)
    model_label = serializers.ChoiceField(choices=TIMELINE_LABELS, allow_null=True)
    corrected_label = serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    uncertain = serializers.BooleanField(allow_null=True)
    mixed = serializers.BooleanField(allow_null=True)
    has_music = serializers.BooleanField(allow_null=True)
    music_under_speech_s = serializers.FloatField(allow_null=True)
    music_level_db = serializers.FloatField(allow_null=True)
    no_music = serializers.BooleanField(allow_null=True)
    families = serializers.ListField(child=serializers.ChoiceField(choices=FAMILIES), allow_null=True)
    music_s = serializers.FloatField(allow_null=True)
    speech_s = serializers.FloatField(allow_null=True)
    noise_s = serializers.FloatField(allow_null=True)
    silence_s = serializers.FloatField(allow_null=True)
    music = serializers.FloatField(allow_null=True)
    speech = serializers.FloatField(allow_null=True)
    noise = serializers.FloatField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    model_version = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class SegmentRowSerializer(serializers.Serializer):
    """One row of a clip's segment export (classify/clips/segment_export.py)."""

    index = serializers.IntegerField()
    start = serializers.FloatField()
    end = serializers.FloatField()
    label = serializers.ChoiceField(choices=TIMELINE_LABELS)
    model_label = serializers.ChoiceField(choices=TIMELINE_LABELS)
    corrected = serializers.BooleanField()
    uncertain = serializers.BooleanField()
    music = serializers.FloatField()
    speech = serializers.FloatField()
    noise = serializers.FloatField()
    family = serializers.ChoiceField(choices=FAMILIES, allow_null=True)
    tags = TagSerializer(many=True)


class TrackRowSerializer(serializers.Serializer):
    """One row of a clip's tracks export: where speech or music is heard."""

    lane = serializers.ChoiceField(choices=["speech", "music"])
    start = serializers.FloatField()
    end = serializers.FloatField()
    level_db = serializers.FloatField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    """What every refusal carries: a sentence for a person."""

    detail = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    """A 400 about the request's fields: each field with its messages (or `detail`)."""

    file = serializers.ListField(child=serializers.CharField(), required=False)
    label = serializers.ListField(child=serializers.CharField(), required=False)
    segment = serializers.ListField(child=serializers.CharField(), required=False)
    type = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.JSONField(required=False)
