"""The one domain error hierarchy. Services raise these; `core.exception_handlers` maps them to
the SPEC's `{"code", "message", ...}` answers with their HTTP status, in one place."""

from typing import Any


class ApplicationError(Exception):
    """A refusal the caller can act on. Subclasses set `code`, `status` and a default message."""

    code = "APPLICATION_ERROR"
    status = 400
    message = "The request could not be carried out."

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.message
        # Extra fields go into the answer next to code and message (e.g. attempts_left).
        self.extra = extra
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    code = "VALIDATION_ERROR"
    status = 400
    message = "The request is not valid."


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    status = 404
    message = "Not found."


class Conflict(ApplicationError):
    code = "CONFLICT"
    status = 409


class NotPermitted(ApplicationError):
    """The actor may not do this (a service checks who may act, not only the admin or the page)."""

    code = "NOT_PERMITTED"
    status = 403
    message = "You may not do this."


class ServiceUnavailable(ApplicationError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    message = "The service is briefly unavailable. Please try again."


class NotAuthenticated(ApplicationError):
    """Raised by DRF as its own exception; declared here so the schema can name it."""

    code = "NOT_AUTHENTICATED"
    status = 401
    message = "Log in first: send Authorization: Token <key>."


class RateLimited(ApplicationError):
    code = "RATE_LIMITED"
    status = 429
    message = "Too many requests. Please wait and try again."


class MalformedRequest(ApplicationError):
    code = "MALFORMED_REQUEST"
    status = 400
    message = "The request body is not valid JSON."


class RequestTooLarge(ApplicationError):
    """A body past the API's size bound (API_JSON_MAX_BYTES, or Django's DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    code = "REQUEST_TOO_LARGE"
    status = 400
    message = "The request body is too large."
