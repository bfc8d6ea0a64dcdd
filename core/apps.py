from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from core import metrics  # noqa: F401  (connects the Celery task-duration signals)
