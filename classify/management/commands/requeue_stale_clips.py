"""The sweep the workers schedule, run by hand: classify/housekeeping.py."""

from django.core.management.base import BaseCommand

from classify import housekeeping


class Command(BaseCommand):
    help = (
        "Requeue clips stuck in processing or queue; fail those out of attempts; remove the files "
        "of clips that failed longer ago than FAILED_CLIP_RETENTION_S, stored files with no clip and "
        "abandoned temporary uploads (older than an hour); expire idle live sessions; remove abandoned "
        "resumable uploads. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        for line in housekeeping.sweep(dry_run=dry_run).lines(dry_run):
            self.stdout.write(line[0].upper() + line[1:])
