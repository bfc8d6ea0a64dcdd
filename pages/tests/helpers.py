"""Shared steps of the pages' tests: an open show, a logged-in fan, admission to the waiting room."""

from django.test import Client

from queueing.selectors import QueueTokenStatus
from queueing.services import queue_enter
from queueing.session import queue_token_to_session


def admit(client: Client, user, concert_id: int) -> str:
    """Enter the fan into the concert's room (a free place: admitted at once) and keep the token
    in the client's session, as the waiting-room page does."""
    current = queue_enter(user_id=user.pk, concert_id=concert_id)
    assert current.status is QueueTokenStatus.ACTIVE
    session = client.session
    queue_token_to_session(session=session, concert_id=concert_id, token=current.token)
    session.save()
    return current.token


def text_of(response) -> str:
    return response.content.decode()
