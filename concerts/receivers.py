"""The Organizers group exists, with its permissions, in every database `migrate` has run on,
demo data or not (seed_demo only adds an organizer to it)."""

from concerts.services import organizer_group_sync


def sync_organizer_group(sender, **kwargs) -> None:
    # post_migrate comes once per app, each after that app's permissions were created; syncing
    # every time (idempotent, a few queries) leaves the group right after the last one.
    organizer_group_sync()
