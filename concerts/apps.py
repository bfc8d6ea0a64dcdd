from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConcertsConfig(AppConfig):
    name = "concerts"

    def ready(self) -> None:
        from concerts.receivers import sync_organizer_group

        post_migrate.connect(sync_organizer_group, dispatch_uid="concerts.sync_organizer_group")
