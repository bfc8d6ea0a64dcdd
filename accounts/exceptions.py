from core.exceptions import ApplicationError, NotAuthenticated, NotPermitted, RateLimited


class PhoneTaken(ApplicationError):
    code = "PHONE_TAKEN"
    status = 409
    message = "An account with this phone number already exists."


class BadCredentials(ApplicationError):
    code = "BAD_CREDENTIALS"
    status = 401
    message = "The phone number or password is wrong."


class LoginSlowedDown(RateLimited):
    """Too many failed log-ins for one account: the next try must wait (retry_after_seconds)."""

    message = "Too many failed log-ins for this account. Wait and try again."


class WrongPin(ApplicationError):
    """A wrong payment PIN where the PIN authorises moving money out (a withdrawal)."""

    code = "WRONG_PIN"
    status = 422
    message = "The payment PIN is wrong."


class PinAttemptsLimited(RateLimited):
    """Too many wrong PINs on the account within PIN_WRONG_WINDOW_SECONDS (retry_after_seconds)."""

    message = "Too many wrong payment PINs on this account. Wait and try again."


class ApiKeyInvalid(NotAuthenticated):
    """An `Authorization: Token` key that is unknown, deleted or of a deactivated user."""

    message = "The API token is not valid."


class NotOrganizationMember(NotPermitted):
    """A staff member acting on a venue, concert or show of an organization they do not work for."""

    code = "NOT_PERMITTED"
    message = "This belongs to another organization."
