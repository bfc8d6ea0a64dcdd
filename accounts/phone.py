"""Korean mobile numbers: accepted in the usual spellings, stored as 010-XXXX-XXXX."""

import re

_MOBILE = re.compile(r"^(?:\+?82|0)?(10)(\d{4})(\d{4})$")


def normalize_phone(raw: str) -> str | None:
    """'010-1234-5678', '01012345678', '010 1234 5678', '+82 10-1234-5678' -> '010-1234-5678'.

    Returns None when the input is not a Korean 010 mobile number.
    """
    digits = re.sub(r"[\s\-().]", "", raw or "")
    match = _MOBILE.match(digits)
    if not match:
        return None
    return f"0{match.group(1)}-{match.group(2)}-{match.group(3)}"
