"""OpenAPI helpers: every endpoint documents its error answers with the codes it may return."""

from collections import defaultdict

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.exceptions import ApplicationError


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="UPPER_SNAKE error code")
    message = serializers.CharField(help_text="Human-readable explanation")


def error_responses(*errors: type[ApplicationError]) -> dict[int, OpenApiResponse]:
    """{status: OpenApiResponse} for the given domain errors, their codes listed per status."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for error in errors:
        by_status[error.status].append(error.code)
    return {
        status: OpenApiResponse(ErrorSerializer, description="Error codes: " + ", ".join(sorted(codes)))
        for status, codes in sorted(by_status.items())
    }


class AutoSchema(openapi.AutoSchema):
    def get_serializer_name(self, serializer: serializers.BaseSerializer, direction: str) -> str:
        # Views nest their own InputSerializer/OutputSerializer (HackSoft style): name each
        # component after its view, e.g. ReservationPaymentApi.InputSerializer -> ReservationPaymentInput.
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if outer:
            return outer.removesuffix("Api") + inner
        return super().get_serializer_name(serializer, direction)
