from django.urls import include, path

from accounts import views
from accounts.api import TokenView

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/profile/token/", views.regenerate_token, name="regenerate-token"),
    path("accounts/profile/delete/", views.delete_account, name="delete-account"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
]
