import re

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts.exceptions import BadCredentials, PhoneTaken
from accounts.models import User
from accounts.phone import normalize_phone
from core.exceptions import ValidationFailed
from points.services import wallet_create
from queueing.authentication import api_key_new, api_key_remember

_PIN = re.compile(r"^\d{6}$")


@transaction.atomic
def user_create(*, name: str, phone: str, password: str, pin: str) -> User:
    """Sign a fan up: validate, store phone normalised and password/PIN hashed, open the wallet."""
    errors: dict[str, list[str]] = {}
    normalized = normalize_phone(phone)
    if normalized is None:
        errors["phone"] = ["Enter a Korean mobile number like 010-1234-5678."]
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Enter your name."]
    if not _PIN.match(pin or ""):
        errors["pin"] = ["The payment PIN is exactly 6 digits."]
    user = User(phone=normalized or "", name=name)
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
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
    wallet_create(user=user)  # every user has a wallet from the start
    return user


def user_login_token(*, phone: str, password: str) -> str:
    """The API token for a phone + password, created on first login."""
    normalized = normalize_phone(phone)
    user = authenticate(phone=normalized, password=password) if normalized else None
    if user is None:
        raise BadCredentials()
    return user_api_key(user=user)


def user_api_key(*, user: User) -> str:
    """The user's API key (`Authorization: Token`), issued signed on first use and cached so the
    fan's first queue calls need no SQL (queueing.authentication)."""
    token, _ = Token.objects.get_or_create(user=user, defaults={"key": api_key_new(user_id=user.pk)})
    api_key_remember(token.key, user.pk)
    return token.key
