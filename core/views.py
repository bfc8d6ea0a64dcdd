"""Health endpoints and the JSON answers for Django-level 400, 403, 404 and 500 on API paths.

Errors Django raises outside DRF's views (a body past DATA_UPLOAD_MAX_MEMORY_SIZE, a Host header
not allowed, any SuspiciousOperation, a failure in a middleware, a lean queue view) reach these
handlers; on /api/ paths they answer {code, message} JSON like every other API error."""

from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import permission_denied as html_permission_denied
from django.views.defaults import server_error as html_server_error
from redis.exceptions import RedisClusterException, RedisError

from core.exception_handlers import error_body, server_error_body
from core.redis import queue_on_cluster, queue_redis, redis_client


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up. No dependency is touched, so a load balancer can call it cheaply."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: PostgreSQL and Redis (and the waiting room's Redis Cluster, if any) answer."""
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
    if queue_on_cluster():  # the waiting room's Redis Cluster (REDIS_CLUSTER_URL)
        checks["redis_cluster"] = "ok"
        try:
            queue_redis().ping()
        except (RedisError, RedisClusterException):
            checks["redis_cluster"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return html_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_body("REQUEST_TOO_LARGE", "The request body is too large."), status=400)
    return JsonResponse(error_body("BAD_REQUEST", "The request is not valid."), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("PERMISSION_DENIED", "You may not do this."), status=403)
    return html_permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("NOT_FOUND", "Not found."), status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(server_error_body(), status=500)
    return html_server_error(request)
