"""Requeue clips whose worker died (or fail them after too many attempts)."""

from django.core.management.base import BaseCommand

from classify.services import sweep_stale


class Command(BaseCommand):
    help = "Requeue clips stuck in processing or queue; fail those out of attempts. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        outcome = sweep_stale(dry_run=dry_run)
        verb = "would requeue" if dry_run else "requeued"
        self.stdout.write(f"{verb} {len(outcome['requeued'])} clip(s): {outcome['requeued']}")
        verb = "would fail" if dry_run else "failed"
        self.stdout.write(f"{verb} {len(outcome['failed'])} clip(s): {outcome['failed']}")
