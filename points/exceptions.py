"""The refusals of the points service. Each maps to the SPEC's HTTP status and code."""

from core.exceptions import ApplicationError


class AmountOutOfRange(ApplicationError):
    """An amount outside the limits: a charge below WALLET_CHARGE_MIN or above WALLET_CHARGE_MAX
    (extra: min, max), a withdrawal below 1 won (extra: min)."""

    code = "AMOUNT_OUT_OF_RANGE"
    status = 400
    message = "The amount is outside the allowed range for one charge."


class BalanceCapExceeded(ApplicationError):
    """A charge that would take the balance past WALLET_BALANCE_CAP (extra: balance, cap)."""

    code = "BALANCE_CAP_EXCEEDED"
    status = 409
    message = "This charge would take your balance past the maximum allowed."


class InsufficientBalance(ApplicationError):
    """Too little balance for a withdrawal, a payment debit or a negative adjustment (extra: balance).

    409 as the withdrawal endpoint answers. The payment endpoint answers 402 with attempts_left:
    the reservations app catches this and raises its own error.
    """

    code = "INSUFFICIENT_BALANCE"
    status = 409
    message = "Your point balance is too low."


class IdempotencyKeyReused(ApplicationError):
    """The Idempotency-Key was already used by this user for a different operation or amount."""

    code = "IDEMPOTENCY_KEY_REUSED"
    status = 409
    message = "This Idempotency-Key was already used for a different request."


class AdjustmentNotAllowed(ApplicationError):
    code = "PERMISSION_DENIED"
    status = 403
    message = "Only a superuser may adjust a balance."
