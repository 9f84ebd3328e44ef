"""Create (or update) the django-q2 schedule that runs the stale-clip sweeper every minute."""

from django.core.management.base import BaseCommand
from django_q.models import Schedule

from classify.infra import queue

NAME = "sweep stale clips"


class Command(BaseCommand):
    help = "Schedule the stale-clip sweeper every minute. Idempotent."

    def handle(self, *args, **options):
        _, created = Schedule.objects.update_or_create(
            name=NAME,
            defaults={
                "func": queue.SWEEP,
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
        self.stdout.write(f"{'created' if created else 'updated'} schedule {NAME!r}")
