"""The fan's queue tokens kept in the Django session, the one place that reads and writes them.

The fan pages (pages.booking) store the token they got on entering the waiting room and forget
it when the visit ends; an API call made with the session (the pages' scripts: entering through
the API, the booking guard queueing.permissions) stores and reads the same entry. It lives here,
in the queueing app, because those API views sit below the pages in the apps' layers
(docs/architecture.md) and may not import them.
"""

from collections.abc import MutableMapping

# Under this session key: {"<concert id>": token}.
SESSION_QUEUE_TOKENS = "queue_tokens"


def queue_token_from_session(*, session: MutableMapping, concert_id: int) -> str | None:
    """The token of the concert kept in the session, or None."""
    tokens = session.get(SESSION_QUEUE_TOKENS) or {}
    return tokens.get(str(concert_id)) if isinstance(tokens, dict) else None


def queue_token_to_session(*, session: MutableMapping, concert_id: int, token: str) -> None:
    tokens = dict(session.get(SESSION_QUEUE_TOKENS) or {})
    tokens[str(concert_id)] = token
    session[SESSION_QUEUE_TOKENS] = tokens


def queue_token_forget_from_session(*, session: MutableMapping, concert_id: int) -> None:
    """Drop the concert's token from the session (written only when there was one)."""
    tokens = dict(session.get(SESSION_QUEUE_TOKENS) or {})
    if tokens.pop(str(concert_id), None) is not None:
        session[SESSION_QUEUE_TOKENS] = tokens
