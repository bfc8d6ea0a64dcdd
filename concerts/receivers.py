"""Signal receivers of the catalog:
- the Organizers group exists, with its permissions, in every database `migrate` has run on,
  demo data or not (seed_demo only adds an organizer to it);
- a change of a show's grade prices (admin or code) replaces its seat map (concerts.seat_map).
"""

from django.db import transaction

from concerts.seat_map import seat_map_changed
from concerts.services import organizer_group_sync


def sync_organizer_group(sender, **kwargs) -> None:
    # post_migrate comes once per app, each after that app's permissions were created; syncing
    # every time (idempotent, a few queries) leaves the group right after the last one.
    organizer_group_sync()


def show_grade_price_changed(sender, instance, **kwargs) -> None:
    """A price set, changed or removed changes the show's seat map (prices, seats on sale)."""
    show_id = instance.show_id
    transaction.on_commit(lambda: seat_map_changed(show_id=show_id), robust=True)
