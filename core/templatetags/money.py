"""`won` for the back-office's own templates (the fan pages have theirs in pages_tags)."""

from django import template

from core.money import won_format

register = template.Library()


@register.filter
def won(amount: int | None) -> str:
    return won_format(amount)
