"""A new password ends every API token: whoever learnt the old password may have taken a token."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.authtoken.models import Token


@receiver(pre_save, sender=get_user_model(), dispatch_uid="accounts-rotate-token")
def rotate_token_on_password_change(sender, instance, update_fields=None, **kwargs) -> None:
    """Any way a password changes (the form, a reset, admin, `set_password`) goes through a
    save of the user: compare the stored hash with the new one and drop the tokens if it moved."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        Token.objects.filter(user_id=instance.pk).delete()


@receiver(user_logged_out, dispatch_uid="accounts-signed-out-message")
def say_signed_out(
    sender: object, request: HttpRequest | None = None, user: User | None = None, **kwargs: object
) -> None:
    """Signing out lands on the start page; say that it worked."""
    if request is not None:
        messages.info(request, "You are signed out.")
