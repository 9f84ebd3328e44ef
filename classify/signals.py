"""A clip's audio file leaves with its row, however the row goes: deleted by its owner, through
the API, in admin, or with its owner's account (a cascade sends post_delete for every clip). The
same for the bytes of an unfinished resumable upload."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from classify.models import Clip, ResumableUpload


@receiver(post_delete, sender=Clip, dispatch_uid="classify-delete-clip-file")
def delete_clip_file(sender, instance: Clip, **kwargs) -> None:
    storage, name = instance.file.storage, instance.file.name
    if name:
        # After the commit: a rolled-back deletion keeps its file.
        transaction.on_commit(lambda: storage.delete(name))


@receiver(post_delete, sender=ResumableUpload, dispatch_uid="classify-delete-resumable-part")
def delete_resumable_part(sender, instance: ResumableUpload, **kwargs) -> None:
    part = instance.part_path
    transaction.on_commit(lambda: part.unlink(missing_ok=True))
