from django.apps import AppConfig


class QueueingConfig(AppConfig):
    name = "queueing"

    def ready(self) -> None:
        from queueing import receivers  # noqa: F401  (connects the signal receivers)
