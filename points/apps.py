from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"

    def ready(self) -> None:
        from core.metrics import counter_define
        from points import receivers  # noqa: F401  (connects the signal receivers)

        counter_define("points_charged", "Points charged into wallets, won")
