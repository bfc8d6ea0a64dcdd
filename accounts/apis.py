from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.exceptions import BadCredentials, PhoneTaken
from accounts.services import user_api_key_revoke, user_create, user_login_token
from accounts.validators import validate_person_name
from core.exceptions import NotAuthenticated, RateLimited, ValidationFailed
from core.schema import error_responses
from core.throttling import client_ip


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    date_joined = serializers.DateTimeField()


class UserSignupApi(APIView):
    """Rate-limited per address by the service (user_create), as the signup page is."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50, validators=[validate_person_name])
        phone = serializers.CharField(max_length=30)
        password = serializers.CharField(max_length=128, write_only=True)
        pin = serializers.CharField(max_length=6, min_length=6, write_only=True)
        email = serializers.EmailField(
            max_length=254, required=False, allow_blank=True, help_text="Optional: notices (a cancelled show)"
        )

    @extend_schema(
        operation_id="users_create",
        summary="Sign up",
        request=InputSerializer,
        responses={201: UserOutputSerializer, **error_responses(ValidationFailed, PhoneTaken, RateLimited)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data, client_ip=client_ip(request))
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    """POST logs in (anyone; rate limits and slowdown in accounts.services.user_authenticate, shared
    with the fan pages and the admin); DELETE logs out (the caller's API key stops working)."""

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def perform_authentication(self, request: Request) -> None:
        if request.method != "POST":  # log-in ignores any credentials sent along
            super().perform_authentication(request)

    class InputSerializer(serializers.Serializer):
        phone = serializers.CharField(max_length=30)
        password = serializers.CharField(max_length=128)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Valid API_KEY_LIFETIME_SECONDS (30 days); a new log-in replaces it")

    @extend_schema(
        operation_id="auth_token_create",
        summary="Log in: exchange phone and password for an API token",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(ValidationFailed, BadCredentials, RateLimited)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"token": user_login_token(**data.validated_data, client_ip=client_ip(request))})

    @extend_schema(
        operation_id="auth_token_delete",
        summary="Log out: the caller's API token stops working",
        request=None,
        responses={204: None, **error_responses(NotAuthenticated)},
    )
    def delete(self, request: Request) -> Response:
        user_api_key_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
