"""Export users' corrections for retraining: a MUSAN-layout folder or a CSV manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand

from classify.clips.corrections import export


class Command(BaseCommand):
    help = "Write corrected clips/segments as <out>/<label>/user-<id>/*.flac plus manifest.csv."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="folder to write (created if missing)")
        parser.add_argument("--manifest-only", action="store_true", help="only manifest.csv, no audio")
        parser.add_argument("--dry-run", action="store_true", help="count what would be written")

    def handle(self, *args, out: Path, manifest_only: bool, dry_run: bool, **options):
        summary = export(out, with_audio=not manifest_only, dry_run=dry_run)
        verb = "would write" if dry_run else "wrote"
        self.stdout.write(f"{verb} {summary.written} correction(s) to {summary.manifest}")
        for problem in summary.skipped:
            self.stderr.write(f"skipped {problem}")
