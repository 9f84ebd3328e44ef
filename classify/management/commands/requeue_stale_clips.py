"""Requeue clips whose worker died (or fail them after too many attempts)."""

from django.core.management.base import BaseCommand

from classify.clips.removal import purge_failed_files, remove_orphans
from classify.clips.state import sweep


class Command(BaseCommand):
    help = (
        "Requeue clips stuck in processing or queue; fail those out of attempts; remove the files "
        "of clips that failed longer ago than FAILED_CLIP_RETENTION_S, stored files with no clip and "
        "abandoned temporary uploads (older than an hour). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        outcome = sweep(dry_run=dry_run)
        verb = "would requeue" if dry_run else "requeued"
        self.stdout.write(f"{verb} {len(outcome['requeued'])} clip(s): {outcome['requeued']}")
        verb = "would fail" if dry_run else "failed"
        self.stdout.write(f"{verb} {len(outcome['failed'])} clip(s): {outcome['failed']}")
        purged = purge_failed_files(dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"{verb} the files of {len(purged)} failed clip(s): {purged}")
        orphans = remove_orphans(dry_run=dry_run)
        self.stdout.write(
            f"{verb} {len(orphans['stored'])} stored file(s) with no clip and "
            f"{len(orphans['temporary'])} abandoned temporary upload file(s)"
        )
