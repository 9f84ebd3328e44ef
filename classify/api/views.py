"""REST API for clips: upload, list (filters, search, pagination), read, delete."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from classify import history_export, services
from classify.api.serializers import (
    ClipSerializer,
    ClipUploadSerializer,
    CorrectionRequestSerializer,
    CorrectionSerializer,
)
from classify.corrections import CorrectionRefused, correct
from classify.filters import filter_clips
from classify.models import Clip, Segment


class ClipViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ClipSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        clips = (
            Clip.objects.for_user(self.request.user)
            .for_listing()
            .prefetch_related(Prefetch("result__segments", queryset=Segment.objects.order_by("index")))
        )
        if self.action in ("list", "export"):
            clips = filter_clips(clips, self.request.query_params)
        return clips

    def get_throttles(self):
        if self.action == "create":
            self.throttle_scope = "uploads"
            return [ScopedRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        parameters=[
            OpenApiParameter("label", enum=["music", "speech", "noise"]),
            OpenApiParameter("status", enum=[s.value for s in Clip.Status]),
            OpenApiParameter("search", str, description="part of the file name"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ClipUploadSerializer}, responses={201: ClipSerializer})
    def create(self, request, *args, **kwargs):
        upload = ClipUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            clip = services.create_clip(request.user, upload.validated_data["file"])
        except services.UploadRejected as error:
            raise ValidationError({"file": [str(error)]}) from None
        data = ClipSerializer(self.get_queryset().get(pk=clip.pk), context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, clip: Clip) -> None:
        services.delete_clip(clip)

    @extend_schema(request=CorrectionRequestSerializer, responses={201: CorrectionSerializer})
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser, MultiPartParser])
    def corrections(self, request, pk=None):
        """Say what the clip (or one segment, by index) really is."""
        clip = self.get_object()
        wanted = CorrectionRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        try:
            correction = correct(
                clip, request.user, wanted.validated_data["label"], wanted.validated_data.get("segment")
            )
        except CorrectionRefused as error:
            raise ValidationError({"detail": [str(error)]}) from None
        return Response(CorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("type", enum=["csv", "json"], description="file type, json by default")],
        responses={(200, "text/csv"): str, (200, "application/json"): str},
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The whole (filtered) history as a CSV or JSON download."""
        kind = request.query_params.get("type", "json")
        if kind not in ("csv", "json"):
            raise ValidationError({"type": ["Choose csv or json."]})
        return history_export.response(self.get_queryset(), kind)
