"""The one rule for a seat's price: a whole number of won within [SEAT_PRICE_MIN, SEAT_PRICE_MAX].

Below the minimum a hold could never be paid (the wallet takes no payment under 1 won); above
the maximum it could not be paid either (WALLET_BALANCE_CAP) or would not fit the price columns.
The model validation (admin), the show services (seed_month) and the hold all ask here.
"""

from django.conf import settings

# The price columns are PostgreSQL integers: no setting can allow more.
PRICE_COLUMN_MAX = 2**31 - 1


def seat_price_min() -> int:
    return max(1, settings.SEAT_PRICE_MIN)


def seat_price_max() -> int:
    return min(PRICE_COLUMN_MAX, settings.SEAT_PRICE_MAX)


def seat_price_problem(price: object) -> str | None:
    """Why `price` cannot be a seat's price, or None if it can."""
    if isinstance(price, bool) or not isinstance(price, int):
        return "A price is a whole number of won."
    if price < seat_price_min():
        return f"A price must be at least {seat_price_min():,} won (the smallest payment)."
    if price > seat_price_max():
        return f"A price must be at most {seat_price_max():,} won."
    return None


def seat_price_is_valid(price: object) -> bool:
    return seat_price_problem(price) is None
