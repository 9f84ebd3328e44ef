"""The API token endpoint, documented with every answer it gives (the schema fuzz holds it to that)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser

from accounts.lockout import locked_out
from classify.infra.parsers import BoundedJSONParser


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenRefusedSerializer(serializers.Serializer):
    username = serializers.ListField(child=serializers.CharField(), required=False)
    password = serializers.ListField(child=serializers.CharField(), required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class LockedOutSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TokenView(ObtainAuthToken):
    """POST a user name and password, get that user's API token. Wrong passwords count towards
    the sign-in lock-out (django-axes), as on the login page."""

    parser_classes = [FormParser, MultiPartParser, BoundedJSONParser]

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TokenSerializer, 400: TokenRefusedSerializer, 429: LockedOutSerializer},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # django-axes marks the request it was given, which here is DRF's wrapper, not the
            # Django request its middleware looks at: answer the lock-out ourselves.
            if getattr(request, "axes_locked_out", False):
                return locked_out(request._request)
            raise
