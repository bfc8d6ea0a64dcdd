from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class ConcertsConfig(AppConfig):
    name = "concerts"

    def ready(self) -> None:
        from concerts.models import ShowGradePrice
        from concerts.receivers import show_grade_price_changed, sync_organizer_group

        post_migrate.connect(sync_organizer_group, dispatch_uid="concerts.sync_organizer_group")
        for signal in (post_save, post_delete):
            signal.connect(show_grade_price_changed, sender=ShowGradePrice, dispatch_uid="concerts.seat_map")
