"""Train a candidate model (in a worker, as the admin button does, or here with --now)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from classify.model_versions import training
from classify.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Queue the training of a candidate model on the corpus (TRAINING_CORPUS_DIR) and, with "
        "--with-corrections, users' corrections; it is measured beside the active model. --now runs "
        "it in this process and prints its progress."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--with-corrections", action="store_true", help="add users' corrections as sources"
        )
        parser.add_argument("--preset", help="training recipe (default: TRAINING_PRESET)")
        parser.add_argument("--epochs", type=int, help="cap on epochs (default: the recipe's)")
        parser.add_argument("--now", action="store_true", help="train here instead of in a worker")

    def handle(self, *args, with_corrections: bool, preset, epochs, now: bool, **options):
        try:
            run = training.queue_training(
                None, with_corrections, preset=preset, epochs=epochs, enqueue=not now
            )
        except training.TrainingRefused as refused:
            raise CommandError(str(refused)) from None
        if not now:
            self.stdout.write(f"queued training run {run.pk}; follow it in admin (Model versions)")
            return
        self.stdout.write(training.run_training(run.pk))
        run = ModelVersion.objects.get(pk=run.pk)
        for name, held_out in run.comparison.get("sets", {}).items():
            active, candidate = held_out["active"], held_out["candidate"]
            self.stdout.write(
                f"{name}: macro-F1 active {active['macro_f1']} candidate {candidate['macro_f1']}; "
                f"noise recall active {active['noise_recall']} candidate {candidate['noise_recall']}"
            )
