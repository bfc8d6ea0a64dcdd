"""The API's JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): DRF's JSONParser with bounds.

A 2 KB body of 1,000 nested arrays made Python's json raise RecursionError (a 500) on every POST,
signup and login included; no request of this API nests more than a few levels or needs more than
a few kilobytes. So a body longer than API_JSON_MAX_BYTES, nested deeper than API_JSON_MAX_DEPTH,
or too deep for the parser itself is a 400 with {code, message}, never a 500.
"""

import codecs
from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from core.exceptions import MalformedRequest, RequestTooLarge


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` ([] is 1, [[]] is 2). Iterative, so
    it cannot itself run out of stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        max_bytes = settings.API_JSON_MAX_BYTES
        raw = stream.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise RequestTooLarge(f"The request body is larger than {max_bytes} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise MalformedRequest(self._too_deep()) from None
        except (ValueError, LookupError) as exc:  # bad JSON, bad bytes or an unknown charset
            raise MalformedRequest(f"JSON parse error - {exc}") from None
        if json_depth_exceeds(data, settings.API_JSON_MAX_DEPTH):
            raise MalformedRequest(self._too_deep())
        return data

    @staticmethod
    def _too_deep() -> str:
        return f"The JSON nests deeper than {settings.API_JSON_MAX_DEPTH} levels."
