"""Users in admin delete the way a user deletes their own account (classify/clips/removal.py):
a part of theirs still streaming in is stopped first, rather than the deletion waiting for it."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from classify.clips import removal, resumable

admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    def delete_view(self, request, object_id, extra_context=None):
        # Admin deletes inside a transaction: the stop must be said before it, or a part that
        # reads it from the database cache would not see it until the deletion it waits for ends.
        if request.method == "POST" and (user := self.get_object(request, unquote(object_id))) is not None:
            resumable.stop_parts(user)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj: User) -> None:
        try:
            removal.delete_user(obj)
        except removal.AccountBusy as busy:
            messages.error(request, f"{obj.username} was not deleted: {busy}")

    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            self.delete_model(request, user)
