from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"
