"""Template helpers of the fan pages: won amounts per language, the header's balance."""

from django import template
from django.utils.translation import get_language

from points.selectors import wallet_balance

register = template.Library()


def won_format(amount: int | None, language: str | None = None) -> str:
    """100000 -> "100,000원" in Korean, "₩100,000" otherwise; negative amounts keep their sign."""
    if amount is None or amount == "":
        return ""
    value = int(amount)
    digits = f"{abs(value):,}"
    sign = "-" if value < 0 else ""
    language = (language or get_language() or "ko").lower()
    if language.startswith("ko"):
        return f"{sign}{digits}원"
    return f"{sign}₩{digits}"


@register.filter
def won(amount: int | None) -> str:
    return won_format(amount)


@register.filter
def mmss(seconds: int | None) -> str:
    """Seconds as m:ss (the server-rendered start of a live countdown)."""
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


@register.simple_tag(takes_context=True)
def header_balance(context) -> int | None:
    """The logged-in fan's point balance for the header (None when nobody is logged in)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return wallet_balance(user=user)
