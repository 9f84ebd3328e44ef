from django.apps import AppConfig


class ClassifyConfig(AppConfig):
    name = "classify"
    verbose_name = "Clips and classifications"
