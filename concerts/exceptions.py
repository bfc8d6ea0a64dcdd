from core.exceptions import NotFound


class ConcertNotFound(NotFound):
    message = "No such concert."


class ShowNotFound(NotFound):
    message = "No such show."
