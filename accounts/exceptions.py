from core.exceptions import ApplicationError


class PhoneTaken(ApplicationError):
    code = "PHONE_TAKEN"
    status = 409
    message = "An account with this phone number already exists."


class BadCredentials(ApplicationError):
    code = "BAD_CREDENTIALS"
    status = 401
    message = "The phone number or password is wrong."
