"""Rate limits (DRF throttles, counted in the Redis cache) on the endpoints a bot would hammer:
signup, login and entering a waiting room. Each view names its `throttle_scope`; the rates per
scope are settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]). Past a limit: 429 RATE_LIMITED
with Retry-After.
"""

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.phone import normalize_phone


class _ScopedThrottle(SimpleRateThrottle):
    """A throttle whose rate is looked up as "<view's throttle_scope>_<suffix>"."""

    suffix = ""

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.scope = f"{view.throttle_scope}_{self.suffix}"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        # Unlike DRF's base class: the scope is known only per view, and the rates are read when
        # used (not at import), so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) if self.scope else None


class PerIpThrottle(_ScopedThrottle):
    suffix = "ip"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PerUserThrottle(_ScopedThrottle):
    """Per logged-in user; for login, per phone number tried (so one account cannot be brute-forced
    from many addresses)."""

    suffix = "user"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_authenticated:
            ident = str(request.user.pk)
        else:
            data = request.data if isinstance(request.data, dict) else {}
            phone = data.get("phone")
            ident = normalize_phone(phone) if isinstance(phone, str) else None
            if ident is None:
                return None  # nothing to count per user; the per-IP limit still applies
        return self.cache_format % {"scope": self.scope, "ident": ident}
