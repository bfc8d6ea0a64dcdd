"""The booking guard: the one check that a request may use a concert's booking endpoints.

A view opts in with `permission_classes = [HasActiveQueueToken]` and tells which concert the
request is about by defining `get_queue_concert_id(self) -> int`.
"""

from rest_framework.permissions import IsAuthenticated


class HasActiveQueueToken(IsAuthenticated):
    # The waiting-room issue replaces this with the real check (ACTIVE token of that concert,
    # owned by the caller; 403 QUEUE_NOT_ACTIVE otherwise). Until then: login only.
    pass
