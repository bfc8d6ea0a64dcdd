"""Accounts: signup, log-in, API keys and the payment PIN check.

Every way in (the API, the fan pages, the admin's log-in) goes through `user_authenticate`, so
they share one count per address and per account and one slowdown for an account whose log-ins
keep failing. Counters live in the Redis cache (core.throttling.cache_incr): atomic increments,
and with Redis unavailable the limits let requests through rather than lock everyone out.
"""

import logging
import math
import re
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import translation
from rest_framework.authtoken.models import Token

from accounts.authentication import api_key_expires_at, api_key_new, api_key_remember
from accounts.exceptions import BadCredentials, LoginSlowedDown, PhoneTaken, PinAttemptsLimited
from accounts.models import Organization, User
from accounts.phone import normalize_phone
from accounts.signals import user_signed_up
from accounts.validators import validate_person_name, validate_pin_not_trivial
from core.clock import clock
from core.exceptions import ValidationFailed
from core.throttling import cache_give_back, cache_incr, rate_limit_count

logger = logging.getLogger(__name__)

_PIN = re.compile(r"^\d{6}$")


@transaction.atomic
def user_create(
    *,
    name: str,
    phone: str,
    password: str,
    pin: str,
    email: str = "",
    language: str | None = None,
    client_ip: str | None = None,
) -> User:
    """Sign a fan up: validate, store phone normalised and password/PIN hashed, open the wallet.

    `email` is optional (notices such as a cancelled show go there); `language` defaults to the
    language active for the request (LocaleMiddleware): notices are written in it.

    A request's signup passes `client_ip`: it counts against the per-address signup rate
    ("signup_ip"; RateLimited past it) before anything else, refused signups included.
    """
    if client_ip is not None:
        rate_limit_count(scope="signup_ip", ident=client_ip)
    errors: dict[str, list[str]] = {}
    normalized = normalize_phone(phone)
    if normalized is None:
        errors["phone"] = ["Enter a Korean mobile number like 010-1234-5678."]
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Enter your name."]
    else:
        _collect(errors, "name", validate_person_name, name)
    try:
        _pin_validate(pin)
    except ValidationFailed as exc:
        errors.update(exc.extra["errors"])
    email = (email or "").strip()
    if email:
        _collect(errors, "email", validate_email, email)
    user = User(phone=normalized or "", name=name, email=email, language=_language(language))
    _collect(errors, "password", validate_password, password, user=user)
    if errors:
        raise ValidationFailed(errors=errors)

    if User.objects.filter(phone=normalized).exists():
        raise PhoneTaken()
    user.set_password(password)
    user.set_pin(pin)
    try:
        # A savepoint, so a concurrent signup with the same phone (caught by the unique index)
        # leaves this transaction usable for the clean PhoneTaken answer.
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise PhoneTaken() from exc
    # Points opens the wallet (points.receivers), in this transaction: no user without a wallet.
    user_signed_up.send(sender=User, user=user)
    return user


def _collect(errors: dict[str, list[str]], field: str, validator, *args, **kwargs) -> None:
    try:
        validator(*args, **kwargs)
    except DjangoValidationError as exc:
        errors.setdefault(field, []).extend(exc.messages)


# ---------------------------------------------------------------------------------------------
# Log-in
# ---------------------------------------------------------------------------------------------
def user_authenticate(
    *, phone: object, password: str, client_ip: str | None, request: HttpRequest | None = None
) -> User:
    """The one log-in check, for the API, the fan pages and the admin.

    Counts the attempt against the per-address ("login_ip") and per-account ("login_user", the
    normalised phone, whether or not such an account exists) rates, refuses an account that is
    being slowed down after repeated failures (LoginSlowedDown), then checks the password.
    A failure adds to the account's failures: from LOGIN_FAILURES_BEFORE_DELAY on, each one makes
    the next attempt wait LOGIN_FAILURE_DELAY_SECONDS, doubling up to LOGIN_FAILURE_DELAY_MAX_SECONDS.
    A success clears them. `phone` is whatever the client sent (a JSON number included).
    Raises RateLimited, LoginSlowedDown (both 429 with retry_after_seconds), BadCredentials.
    """
    normalized = normalize_phone(str(phone)) if isinstance(phone, str | int) else None
    if client_ip is not None:
        rate_limit_count(scope="login_ip", ident=client_ip)
    if normalized is None:
        raise BadCredentials()
    _login_delay_check(normalized)
    rate_limit_count(scope="login_user", ident=normalized)
    user = authenticate(request, phone=normalized, password=password)
    if user is None:
        _login_failure_record(normalized)
        raise BadCredentials()
    cache.delete_many([_login_failures_key(normalized), _login_delay_key(normalized)])
    language = _language(None)
    if language and user.language != language:  # the language the fan uses now: notices follow it
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language
    return user


def _language(language: str | None) -> str:
    """One of settings.LANGUAGES: the given one, else the one active for this request; "" if none fits."""
    try:
        return translation.get_supported_language_variant(language or translation.get_language() or "")
    except LookupError:
        return ""


def _login_failures_key(phone: str) -> str:
    return f"login:failures:{phone}"


def _login_delay_key(phone: str) -> str:
    return f"login:delay:{phone}"


def _login_delay_check(phone: str) -> None:
    until = cache.get(_login_delay_key(phone))
    now = clock.timestamp()
    if until is not None and until > now:
        wait = max(1, math.ceil(until - now))
        raise LoginSlowedDown(
            f"Too many failed log-ins for this account. Try again in {wait} seconds.", retry_after_seconds=wait
        )


def _login_failure_record(phone: str) -> None:
    failures = cache_incr(_login_failures_key(phone), timeout=settings.LOGIN_FAILURE_MEMORY_SECONDS)
    beyond = (failures or 0) - settings.LOGIN_FAILURES_BEFORE_DELAY
    if beyond < 0:
        return
    # Each failure counts once (atomic increment), so concurrent failures agree on the delay's
    # order of magnitude; the later write may shorten it by one doubling at most.
    delay = min(settings.LOGIN_FAILURE_DELAY_SECONDS * 2 ** min(beyond, 30), settings.LOGIN_FAILURE_DELAY_MAX_SECONDS)
    cache.set(_login_delay_key(phone), clock.timestamp() + delay, timeout=delay + 1)


# ---------------------------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------------------------
def user_login_token(*, phone: object, password: str, client_ip: str | None = None) -> str:
    """Log in by the API: a fresh API key for phone + password (user_authenticate's checks)."""
    return user_api_key_issue(user=user_authenticate(phone=phone, password=password, client_ip=client_ip))


@transaction.atomic
def user_api_key_issue(*, user: User) -> str:
    """A new API key for the user, valid API_KEY_LIFETIME_SECONDS; the previous one stops working
    (one key per user: a log-in ends the earlier session's key). The user row is locked so two
    log-ins at once end with one key. Cached on commit, so the fan's first queue calls need no SQL."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    Token.objects.filter(user=user).delete()  # accounts.receivers drops its cache entry on commit
    token = Token.objects.create(user=user, key=api_key_new(user_id=user.pk))
    key, expires_at = token.key, api_key_expires_at(token.created)
    transaction.on_commit(lambda: api_key_remember(key, user.pk, expires_at=expires_at))
    return key


def user_api_key(*, user: User) -> str:
    """The user's live API key, issued if there is none or it has expired (seeds, load tests)."""
    token = Token.objects.filter(user=user).first()
    if token is None or api_key_expires_at(token.created) <= clock.now():
        return user_api_key_issue(user=user)
    api_key_remember(token.key, user.pk, expires_at=api_key_expires_at(token.created))
    return token.key


@transaction.atomic
def user_api_key_revoke(*, user: User) -> None:
    """End the user's API key (log-out, a password change): it stops working everywhere at once
    (accounts.receivers drops the cache entry the queue endpoints read when this commits)."""
    Token.objects.filter(user=user).delete()


# ---------------------------------------------------------------------------------------------
# Payment PIN
# ---------------------------------------------------------------------------------------------
def user_pin_check(*, user: User, pin: str) -> bool:
    """Check the payment PIN, within the account's allowance of wrong PINs (payments and
    withdrawals, across holds): at most PIN_WRONG_PER_ACCOUNT per fixed PIN_WRONG_WINDOW_SECONDS
    window of the clock. Past it raises PinAttemptsLimited (429, retry_after_seconds: the
    window's end) whatever the PIN, so new holds give no new guesses.

    Every check takes a place in the window's count (an atomic increment, so concurrent guesses
    cannot all slip under the limit); a right PIN, or a check refused past the limit, gives its
    place back. A current PIN hash is compared first (microseconds), then counted and given back
    in one Redis round trip; a PIN still stored by the earlier slow hasher is checked only within
    the allowance, so that guesses past it cost the server nothing.
    """
    seconds = settings.PIN_WRONG_WINDOW_SECONDS
    limit = settings.PIN_WRONG_PER_ACCOUNT
    now = clock.timestamp()
    window = int(now // seconds)
    key = _pin_wrong_key(user.pk, now)
    _pin_hash_load(user)
    if user.pin_check_is_slow():
        count = cache_incr(key, timeout=seconds + 1, give_back_past=limit)
        ok = (count is None or count <= limit) and user.check_pin(pin)
        if ok and count is not None:
            cache_give_back(key)
    else:
        ok = user.check_pin(pin)
        count = cache_incr(key, timeout=seconds + 1, give_back_past=limit, give_back=ok)
    if count is not None and count > limit:
        wait = max(1, math.ceil((window + 1) * seconds - now))
        raise PinAttemptsLimited(
            f"Too many wrong payment PINs on this account. Try again in {math.ceil(wait / 60)} minutes.",
            retry_after_seconds=wait,
        )
    return ok


# Written out: read on every payment, for a caller the API key gives with its id only, where
# the ORM's load of the deferred field cost more CPU than the statement (reservations.services).
_SQL_PIN_HASH = "SELECT pin_hash FROM accounts_user WHERE id = %s"


def _pin_hash_load(user: User) -> None:
    if "pin_hash" in user.get_deferred_fields():
        with connection.cursor() as cursor:
            cursor.execute(_SQL_PIN_HASH, [user.pk])
            found = cursor.fetchone()
        user.pin_hash = found[0] if found else ""


def _pin_wrong_key(user_id: int, now: float) -> str:
    return f"pin:wrong:{user_id}:{int(now // settings.PIN_WRONG_WINDOW_SECONDS)}"


# ---------------------------------------------------------------------------------------------
# Changing the password and the PIN; support's temporary password
# ---------------------------------------------------------------------------------------------
def user_password_check(*, user: User, password: str) -> None:
    """The account's own password, asked again before a change of the password or the PIN.

    A wrong one counts as a failed log-in of the account (the same slowdown), so a session left
    open does not let anyone guess the password here faster than at the log-in.
    Raises LoginSlowedDown (429) or BadCredentials."""
    _login_delay_check(user.phone)
    if not user.check_password(password or ""):
        _login_failure_record(user.phone)
        raise BadCredentials("The password is wrong.")


def _pin_validate(pin: str) -> None:
    errors: dict[str, list[str]] = {}
    if not _PIN.match(pin or ""):
        errors["pin"] = ["The payment PIN is exactly 6 digits."]
    else:
        _collect(errors, "pin", validate_pin_not_trivial, pin)
    if errors:
        raise ValidationFailed(errors=errors)


@transaction.atomic(durable=True)
def user_pin_change(*, user: User, password: str, new_pin: str) -> None:
    """Set a new payment PIN with the account's password (also how a fan who forgot the PIN sets
    a new one: the current PIN is not asked). The PIN rules are signup's (6 digits, not trivial).

    The account's allowance of wrong PINs is cleared: the fan who locked it with a forgotten PIN
    can pay at once with the new one, and whoever knows the password could set a PIN anyway.
    Raises LoginSlowedDown, BadCredentials (wrong password), ValidationFailed."""
    user_password_check(user=user, password=password)
    _pin_validate(new_pin)
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    user.set_pin(new_pin)
    User.objects.filter(pk=user.pk).update(pin_hash=user.pin_hash)
    transaction.on_commit(lambda: cache.delete(_pin_wrong_key(user.pk, clock.timestamp())))
    logger.info("accounts: user %s set a new payment PIN", user.pk)


def user_password_change(*, user: User, new_password: str) -> None:
    """Store a new password (already checked against the validators and the old password by the
    caller, Django's PasswordChangeForm). The save ends the user's API key (accounts.receivers)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    logger.info("accounts: user %s changed the password", user.pk)


# Letters and digits that cannot be mistaken for each other when read out on the phone.
_TEMPORARY_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@transaction.atomic(durable=True)
def user_password_set_temporary(*, user: User, actor: User) -> str:
    """Support's reset for a fan who forgot the password (the account has no e-mail or SMS to send
    a link to): a random temporary password, returned once to tell the fan, who then changes it
    on the account page. The fan's API key ends and the log-in slowdown of the account is
    cleared. Only a superuser may do it; logged with who did it for whom.
    Raises PermissionDenied for anyone else."""
    if not (actor.is_active and actor.is_superuser):
        raise PermissionDenied("Only a superuser may set a temporary password.")
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    length = settings.TEMPORARY_PASSWORD_LENGTH
    password = "".join(secrets.choice(_TEMPORARY_PASSWORD_ALPHABET) for _ in range(length))
    user.set_password(password)
    user.save(update_fields=["password"])
    phone = user.phone
    transaction.on_commit(lambda: cache.delete_many([_login_failures_key(phone), _login_delay_key(phone)]))
    logger.warning("accounts: user %s set a temporary password for user %s", actor.pk, user.pk)
    return password


def organization_get_or_create(*, name: str) -> Organization:
    """The organization of this name, made if missing (seeding and tools; people add them in the admin)."""
    name = name.strip()
    if not name:
        raise ValidationFailed(errors={"name": ["An organization needs a name."]})
    organization, _ = Organization.objects.get_or_create(name=name)
    return organization
