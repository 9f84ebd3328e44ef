from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounts.urls")),
    path("", include("classify.urls")),
]

handler400 = "classifier_site.errors.bad_request"
handler403 = "classifier_site.errors.permission_denied"
handler404 = "classifier_site.errors.not_found"
handler500 = "classifier_site.errors.server_error"
