from core.exceptions import ApplicationError, Conflict, NotAuthenticated, NotFound


class BookingClosed(Conflict):
    code = "BOOKING_CLOSED"
    message = "Booking for this concert is not open."


class QueueFull(ApplicationError):
    """Carries retry_after_seconds, which the API answer also gives as a Retry-After header."""

    code = "QUEUE_FULL"
    status = 503
    message = "The waiting room is full. Please try again later."


class TokenNotFound(NotFound):
    """Unknown, forged, ended (left, removed, timed out) or another user's queue token: one answer."""

    code = "TOKEN_NOT_FOUND"
    message = "No such queue token. Enter the waiting room again."


class QueueNotActive(ApplicationError):
    """Carries status (WAITING or null) and position, so the client knows where it stands."""

    code = "QUEUE_NOT_ACTIVE"
    status = 403
    message = "Wait for your turn: this needs an ACTIVE queue token of this concert."


class StreamTicketInvalid(NotAuthenticated):
    """A waiting page's stream ticket that is forged, malformed or past its time."""

    message = "The stream ticket is not valid or has expired. Load the waiting room page again."


class EntryTicketInvalid(NotAuthenticated):
    """A concert page's entry ticket that is forged, malformed, past its time or another concert's."""

    message = "The entry ticket is not valid or has expired. Load the concert page again."
