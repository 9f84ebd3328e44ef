"""Sign-up and the profile page with the user's API token; sign-in, sign-out and password
change and reset are Django's own views (accounts/urls.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from accounts.forms import DeleteAccountForm, SignUpForm
from accounts.lockout import client_address
from classify.clips import removal
from classify.infra import limits


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            limits.take_signup(client_address(request) or "unknown")
        except limits.LimitReached as reached:
            form.add_error(None, f"Too many new accounts from your address: {reached}.")
            return render(request, "registration/signup.html", {"form": form}, status=429)
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Upload a clip to get started.")
        return redirect("upload")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request):
    token, _ = Token.objects.get_or_create(user=request.user)
    context = {"token": token, "delete_form": DeleteAccountForm(request.user)}
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def delete_account(request):
    """The account and all its data (clips, results, corrections, tokens, audio files)."""
    form = DeleteAccountForm(request.user, request.POST)
    if not form.is_valid():
        token, _ = Token.objects.get_or_create(user=request.user)
        context = {"token": token, "delete_form": form}
        return render(request, "accounts/profile.html", context, status=400)
    user = request.user
    try:
        removal.delete_user(user)
    except removal.AccountBusy as busy:
        messages.error(request, f"Your account was not deleted: {busy}")
        return redirect("profile")
    logout(request)
    messages.success(request, "Your account and all your clips were deleted.")
    return redirect("home")


@login_required
@require_POST
def regenerate_token(request):
    Token.objects.filter(user=request.user).delete()
    Token.objects.create(user=request.user)
    messages.success(request, "A new API token was made; the old one no longer works.")
    return redirect("profile")
