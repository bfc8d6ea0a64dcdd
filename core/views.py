"""Health endpoints and the JSON answers for Django-level 404 and 500 on API paths."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error
from redis.exceptions import RedisError

from core.exception_handlers import error_body
from core.redis import redis_client


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up. No dependency is touched, so a load balancer can call it cheaply."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: PostgreSQL and Redis both answer."""
    checks = {"postgresql": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any driver error means not ready
        checks["postgresql"] = "unavailable"
    try:
        redis_client().ping()
    except RedisError:
        checks["redis"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("NOT_FOUND", "Not found."), status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("SERVER_ERROR", "Something went wrong on our side."), status=500)
    return html_server_error(request)
