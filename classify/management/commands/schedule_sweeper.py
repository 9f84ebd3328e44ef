"""Create (or update) the django-q2 schedule that runs the stale-clip sweeper every minute."""

from django.core.management.base import BaseCommand
from django_q.models import Schedule

NAME = "sweep stale clips"


class Command(BaseCommand):
    help = "Schedule classify.tasks.sweep_stale_clips every minute. Idempotent."

    def handle(self, *args, **options):
        _, created = Schedule.objects.update_or_create(
            name=NAME,
            defaults={
                "func": "classify.tasks.sweep_stale_clips",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
        self.stdout.write(f"{'created' if created else 'updated'} schedule {NAME!r}")
