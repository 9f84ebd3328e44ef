"""The public shape of a clip, shared by the API and the HTML pages' live updates."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from classify.clips import summary
from classify.models import Clip
from ml import CLASS_NAMES, TIMELINE_LABELS


class ProbabilitiesSerializer(serializers.Serializer):
    music = serializers.FloatField()
    speech = serializers.FloatField()
    noise = serializers.FloatField()


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
        choices=TIMELINE_LABELS, help_text="music, speech or noise; a segment may also be silence"
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


class ClipSerializer(serializers.ModelSerializer):
    filename = serializers.CharField(source="original_filename", read_only=True)
    label = serializers.SerializerMethodField()
    answer = serializers.SerializerMethodField()
    model_label = serializers.SerializerMethodField()
    corrected_label = serializers.SerializerMethodField()
    confidence = serializers.SerializerMethodField()
    uncertain = serializers.SerializerMethodField()
    mixed = serializers.SerializerMethodField()
    shares = serializers.SerializerMethodField()
    probabilities = serializers.SerializerMethodField()
    segments = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    model_version = serializers.SerializerMethodField()
    processing_s = serializers.SerializerMethodField()
    audio_url = serializers.SerializerMethodField()

    class Meta:
        model = Clip
        fields = [
            "id",
            "filename",
            "status",
            "label",
            "answer",
            "model_label",
            "corrected_label",
            "confidence",
            "uncertain",
            "mixed",
            "shares",
            "probabilities",
            "duration_s",
            "segments",
            "progress",
            "model_version",
            "processing_s",
            "error",
            "created_at",
            "finished_at",
            "audio_url",
            "size_bytes",
            "sha256",
            "sample_rate",
            "channels",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True))
    def get_label(self, clip: Clip) -> str | None:
        """As shown: the owner's correction, else the model's label (classify/clips/summary.py)."""
        return summary.stored(clip.result).shown_label if clip.result else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_answer(self, clip: Clip) -> str | None:
        """The answer in words: "speech", or a mixed clip's shares ("Speech 24 s · music 13 s")."""
        return summary.stored(clip.result).headline() if clip.result else None

    @extend_schema_field(serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True))
    def get_model_label(self, clip: Clip) -> str | None:
        return clip.result.label if clip.result else None

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_mixed(self, clip: Clip) -> bool | None:
        """Two or more classes each hold a real share of the time (null before a result)."""
        return clip.result.mixed if clip.result else None

    @extend_schema_field(SharesSerializer(allow_null=True))
    def get_shares(self, clip: Clip) -> dict | None:
        return clip.result.shares if clip.result else None

    @extend_schema_field(serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True))
    def get_corrected_label(self, clip: Clip) -> str | None:
        return (clip.result.corrected_label or None) if clip.result else None

    def get_confidence(self, clip: Clip) -> float | None:
        return clip.result.confidence if clip.result else None

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_uncertain(self, clip: Clip) -> bool | None:
        """True when the model hesitated on a part that decides the answer and nobody corrected
        it (null before a result)."""
        return clip.result.uncertain if clip.result else None

    @extend_schema_field(ProbabilitiesSerializer(allow_null=True))
    def get_probabilities(self, clip: Clip) -> dict | None:
        return clip.result.probabilities if clip.result else None

    @extend_schema_field(SegmentSerializer(many=True))
    def get_segments(self, clip: Clip) -> list[dict]:
        if not clip.result:
            return []
        return [
            {
                "index": s.index,
                "start": s.start,
                "end": s.end,
                "label": s.shown_label,
                "model_label": s.label,
                "probabilities": s.probabilities,
                "corrected_label": s.corrected_label or None,
                "uncertain": s.unsure,
            }
            for s in clip.result.segments.all()
        ]

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, clip: Clip) -> dict | None:
        """While processing: seconds done of the total, rate, time left, the timeline so far."""
        return clip.progress if clip.status == Clip.Status.PROCESSING and clip.progress else None

    def get_model_version(self, clip: Clip) -> str | None:
        return clip.result.model_version if clip.result else None

    def get_processing_s(self, clip: Clip) -> float | None:
        return clip.result.processing_s if clip.result else None

    def get_audio_url(self, clip: Clip) -> str:
        url = reverse("api-clip-audio", args=[clip.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ClipUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An audio file: wav, flac, ogg, opus, mp3, m4a or webm.")


class HistoryRowSerializer(serializers.Serializer):
    """One row of the history export (classify/history_export.py)."""

    id = serializers.IntegerField()
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=Clip.Status.values)
    label = serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True, help_text="as shown")
    answer = serializers.CharField(allow_null=True)
    model_label = serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True)
    corrected_label = serializers.ChoiceField(choices=CLASS_NAMES, allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    uncertain = serializers.BooleanField(allow_null=True)
    mixed = serializers.BooleanField(allow_null=True)
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
