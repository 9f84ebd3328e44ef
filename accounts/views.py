"""Sign-up and the profile page with the user's API token; sign-in, sign-out and password
change and reset are Django's own views (accounts/urls.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from accounts.forms import SignUpForm


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Upload a clip to get started.")
        return redirect("upload")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request):
    token, _ = Token.objects.get_or_create(user=request.user)
    return render(request, "accounts/profile.html", {"token": token})


@login_required
@require_POST
def regenerate_token(request):
    Token.objects.filter(user=request.user).delete()
    Token.objects.create(user=request.user)
    messages.success(request, "A new API token was made; the old one no longer works.")
    return redirect("profile")
