from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from classify.api.events import ClipEventsView
from classify.api.live import LiveSessionViewSet
from classify.api.resumable import ResumableUploadsView, ResumableUploadView
from classify.api.views import ClipViewSet
from classify.web import views

router = DefaultRouter()
router.register("clips", ClipViewSet, basename="api-clip")
router.register("live", LiveSessionViewSet, basename="api-live")

urlpatterns = [
    path("", views.home, name="home"),
    path("clips/upload/", views.upload, name="upload"),
    path("clips/<int:clip_id>/", views.clip_detail, name="clip-detail"),
    path("clips/<int:clip_id>/audio/", views.clip_audio, name="clip-audio"),
    path("staff/clips/<int:clip_id>/audio/", views.admin_clip_audio, name="admin-clip-audio"),
    path("clips/<int:clip_id>/delete/", views.clip_delete, name="clip-delete"),
    path("clips/<int:clip_id>/correct/", views.clip_correct, name="clip-correct"),
    re_path(r"^clips/export\.(?P<kind>csv|json)$", views.history_download, name="history-export"),
    re_path(
        r"^clips/(?P<clip_id>[0-9]+)/segments\.(?P<kind>csv|json|audacity)$",
        views.clip_segments,
        name="clip-segments",
    ),
    re_path(
        r"^clips/(?P<clip_id>[0-9]+)/tracks\.(?P<kind>csv|json|audacity)$",
        views.clip_tracks,
        name="clip-tracks",
    ),
    path("api/uploads/", ResumableUploadsView.as_view(), name="api-upload-list"),
    path("api/uploads/<uuid:upload_id>/", ResumableUploadView.as_view(), name="api-upload-detail"),
    path("api/clips/events/", ClipEventsView.as_view(), name="api-clip-events"),  # before clips/{id}/
    path("api/", include(router.urls)),
]
