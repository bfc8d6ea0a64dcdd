"""The account fields' own rules, one function each, used by the model, the API's serializers, the
fan pages' forms and the signup service alike."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Unicode categories a name never needs: control characters (Cc: NUL, newline, escape), format
# characters (Cf: the bidirectional overrides and isolates U+202A-202E / U+2066-2069, zero-width
# space, joiner and non-joiner, the BOM), line and paragraph separators, private use, surrogates
# and unassigned code points. They let a name hide or reorder what an organizer reads in the admin.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def validate_person_name(value: str) -> None:
    """Refuse names with invisible or text-reordering characters."""
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in value):
        raise ValidationError(
            _("A name may not contain control, invisible or text-direction characters."), code="name_characters"
        )


def validate_pin_not_trivial(pin: str) -> None:
    """Refuse a PIN of one repeated digit (000000) or a run up or down (123456, 987654, 890123):
    the first PINs anyone guesses."""
    if not pin.isdigit():
        return  # the format rule (6 digits) speaks to that
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    if len(steps) == 1 and steps <= {0, 1, 9}:
        raise ValidationError(
            _("Choose a PIN that is not one repeated digit or a run like 123456."), code="pin_trivial"
        )
