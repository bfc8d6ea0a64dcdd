"""How an amount of won reads, in the language of the request (pages, admin, e-mails)."""

from django.utils.translation import get_language


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
