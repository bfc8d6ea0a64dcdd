"""The API key and the queue token in one Redis round trip, for the views behind the booking guard.

Every call of an admitted fan (a concert's shows, a seat map, a hold) is authenticated by its API
key's cache entry and then checked by the booking guard (queueing.permissions), which runs the
queue token's poll script: two round trips, each a dear system call or two on this machine. With
`X-Queue-Token`, this authentication sends both in one pipeline (queueing.selectors
queue_caller_in_room, as the waiting room's own poll does), and the guard takes the token's place
from it instead of asking Redis again. The script's answer counts only once the key proved live
and the token the caller's; the guard still checks the concert and the status itself
(queueing.services.queue_require_active). Without the header it is CachedApiKeyAuthentication.
"""

from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.authentication import INVALID_KEY_MESSAGE, CachedApiKeyAuthentication, request_api_key
from accounts.exceptions import ApiKeyInvalid
from queueing.permissions import QUEUE_CALLER_ATTRIBUTE, QUEUE_TOKEN_HEADER
from queueing.selectors import queue_caller_in_room


class ApiKeyAndQueueTokenAuthentication(CachedApiKeyAuthentication):
    def authenticate(self, request: Request):
        api_key = request_api_key(request)
        token = request.headers.get(QUEUE_TOKEN_HEADER)
        if api_key is None or not token:
            return super().authenticate(request)
        try:
            caller = queue_caller_in_room(api_key=api_key, token=token)
        except ApiKeyInvalid:
            raise AuthenticationFailed(INVALID_KEY_MESSAGE) from None
        setattr(request, QUEUE_CALLER_ATTRIBUTE, caller)
        return self.caller(caller.user_id), api_key
