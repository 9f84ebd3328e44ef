from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

from accounts import views

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/token/", views.regenerate_token, name="regenerate-token"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
]
