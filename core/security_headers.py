"""Content-Security-Policy and Permissions-Policy on every answer.

Django's SecurityMiddleware sets Referrer-Policy (SECURE_REFERRER_POLICY), nosniff, and HSTS in
production; it has no CSP (Django 5.2). The policy here is one fixed header from settings: the
templates carry no inline script, style block or style attribute (everything is in static/), so
no nonce or per-view policy is needed, and a library (django-csp) would bring those features and a
dependency for what is two headers. A view that needs another policy may set its own header,
which is kept. The API docs (drf-spectacular's Swagger UI) are served by its split view, with the
page's style moved to static/css/swagger.css (templates/drf_spectacular/swagger_ui.html).
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for header, value in (
            ("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY),
            ("Permissions-Policy", settings.PERMISSIONS_POLICY),
        ):
            if value:
                response.headers.setdefault(header, value)
        return response
