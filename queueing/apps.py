from django.apps import AppConfig


class QueueingConfig(AppConfig):
    name = "queueing"

    def ready(self) -> None:
        from queueing.metrics import metrics_register

        metrics_register()
