"""The payment PIN, stored as a keyed hash: HMAC-SHA256 under a pepper that is not in the database.

Why not Django's password hasher (PBKDF2, about a million iterations, 0.4 s of CPU per check):
a 6-digit PIN has only a million values, so a slow hash does not protect a leaked database (a
few GPU-hours try them all) while every payment pays its cost, in the on-sale rush above all.
What protects a PIN is a secret the database does not hold: without `settings.PIN_PEPPER` a leaked
`pin_hash` cannot be tested against any guess, and with the service online the per-account limits
on wrong PINs bound the guesses. A check costs a few microseconds.

Stored as `hmac_sha256$<salt>$<hex digest>`; the per-user salt keeps equal PINs from having equal
hashes. PINs stored by the earlier Django hasher are checked that way once and rewritten in this
form on their first successful check (`pin_check`).
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth.hashers import check_password

ALGORITHM = "hmac_sha256"


def pin_hash_make(pin: str) -> str:
    salt = secrets.token_hex(8)
    return f"{ALGORITHM}${salt}${_digest(salt, pin)}"


def pin_hash_is_current(stored: str) -> bool:
    return stored.startswith(ALGORITHM + "$")


def pin_hash_check(pin: str, stored: str) -> bool:
    """True when `pin` matches `stored`, in either form (current or the earlier Django hasher)."""
    if not stored:
        return False
    if pin_hash_is_current(stored):
        _, salt, digest = stored.split("$", 2)
        return hmac.compare_digest(_digest(salt, pin), digest)
    return check_password(pin, stored)


def _digest(salt: str, pin: str) -> str:
    return hmac.new(settings.PIN_PEPPER.encode(), f"{salt}${pin}".encode(), hashlib.sha256).hexdigest()
