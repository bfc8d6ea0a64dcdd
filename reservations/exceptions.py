from core.exceptions import ApplicationError


class SeatUnavailable(ApplicationError):
    code = "SEAT_UNAVAILABLE"
    status = 409
    message = "Some of these seats are already taken."


class SeatNotOnSale(SeatUnavailable):
    """A seat whose price is outside the allowed range (concerts.prices): a hold of it could never
    be paid. The SPEC's SEAT_UNAVAILABLE, with its own message (extra: seats)."""

    message = "Some of these seats are not on sale: their price is not set correctly."


class SeatLimitExceeded(ApplicationError):
    code = "SEAT_LIMIT_EXCEEDED"
    status = 409
    message = "That is more seats than one fan may have for this show."


class ShowNotBookable(ApplicationError):
    code = "SHOW_NOT_BOOKABLE"
    status = 409
    message = "This show cannot be booked now."


class ReservationNotFound(ApplicationError):
    code = "NOT_FOUND"
    status = 404
    message = "No such reservation."


class WrongPin(ApplicationError):
    code = "WRONG_PIN"
    status = 422
    message = "The payment PIN is wrong."


class PaymentInsufficientBalance(ApplicationError):
    code = "INSUFFICIENT_BALANCE"
    status = 402
    message = "Your point balance is too low for this payment. Charge points and try again."


class PaymentAttemptsExceeded(ApplicationError):
    code = "PAYMENT_ATTEMPTS_EXCEEDED"
    status = 422
    message = "Too many failed payment attempts: the seats were released and you left the booking session."


class HoldExpired(ApplicationError):
    code = "HOLD_EXPIRED"
    status = 410
    message = "The hold has ended and the seats were released. Pick seats again."


class AlreadyPaid(ApplicationError):
    code = "ALREADY_PAID"
    status = 409
    message = "This reservation is already paid."


class AlreadyRefunded(ApplicationError):
    code = "ALREADY_REFUNDED"
    status = 409
    message = "These tickets are already refunded."


class RefundWindowClosed(ApplicationError):
    code = "REFUND_WINDOW_CLOSED"
    status = 409
    message = "Tickets can no longer be refunded for this show."


class NotRefundable(ApplicationError):
    code = "NOT_REFUNDABLE"
    status = 409
    message = "Only paid tickets can be refunded."
