from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.exceptions import BadCredentials, PhoneTaken
from accounts.services import user_create, user_login_token
from core.exceptions import RateLimited, ValidationFailed
from core.schema import error_responses
from core.throttling import PerIpThrottle, PerUserThrottle


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()
    date_joined = serializers.DateTimeField()


class UserSignupApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [PerIpThrottle]
    throttle_scope = "signup"

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50)
        phone = serializers.CharField(max_length=30)
        password = serializers.CharField(max_length=128, write_only=True)
        pin = serializers.CharField(max_length=6, min_length=6, write_only=True)

    @extend_schema(
        operation_id="users_create",
        summary="Sign up",
        request=InputSerializer,
        responses={201: UserOutputSerializer, **error_responses(ValidationFailed, PhoneTaken, RateLimited)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [PerIpThrottle, PerUserThrottle]
    throttle_scope = "login"

    class InputSerializer(serializers.Serializer):
        phone = serializers.CharField(max_length=30)
        password = serializers.CharField(max_length=128)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_token_create",
        summary="Log in: exchange phone and password for an API token",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(ValidationFailed, BadCredentials, RateLimited)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"token": user_login_token(**data.validated_data)})
