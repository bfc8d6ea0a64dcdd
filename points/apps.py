from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"

    def ready(self) -> None:
        from points import receivers  # noqa: F401  (connects the signal receivers)
