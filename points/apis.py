from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.exceptions import PinAttemptsLimited, WrongPin
from core.exceptions import NotAuthenticated, ValidationFailed
from core.pagination import PAGE_PARAMETERS, PageNumberPagination, page_of
from core.schema import error_responses
from points.exceptions import AmountOutOfRange, BalanceCapExceeded, IdempotencyKeyReused, InsufficientBalance
from points.idempotency import HEADER, MAX_LENGTH
from points.models import LedgerEntry
from points.selectors import ledger_entry_list, wallet_balance
from points.services import WalletMovement, wallet_charge, wallet_withdraw


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: refuses strings ("1000"), floats (1000.5 and 1000.0) and
    booleans, which DRF's IntegerField would coerce."""

    default_error_messages = {"invalid": "A whole number (JSON integer) is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class AmountInputSerializer(serializers.Serializer):
    # No range here: a whole number outside the limits is the service's AMOUNT_OUT_OF_RANGE (SPEC).
    amount = StrictIntegerField(
        help_text="Won, a JSON integer. A charge outside its limits, or a withdrawal below 1, is 400 "
        "AMOUNT_OUT_OF_RANGE; a withdrawal above the balance is 409 INSUFFICIENT_BALANCE."
    )

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) if isinstance(self.initial_data, dict) else set()
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return attrs


class LedgerEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LedgerEntry.Kind.choices)
    amount = serializers.IntegerField(
        help_text="Signed: charges and refunds positive, payments and withdrawals negative."
    )
    balance_after = serializers.IntegerField()
    reference = serializers.CharField(help_text='What caused it, e.g. "reservation:42"; empty for charges.')
    created_at = serializers.DateTimeField()


class WalletMovementOutputSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    transaction = LedgerEntryOutputSerializer(source="entry")


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        f"Optional, 1 to {MAX_LENGTH} printable ASCII characters (e.g. a UUID). Replaying a key returns the "
        "first answer and moves nothing; the same key for another amount or operation is 409 "
        "IDEMPOTENCY_KEY_REUSED. Refused requests do not use up their key."
    ),
)


def _movement_response(movement: WalletMovement) -> Response:
    # A replay answers exactly like the first request: same status, same body (balance after it).
    return Response(WalletMovementOutputSerializer(movement).data, status=status.HTTP_201_CREATED)


class WalletApi(APIView):
    class OutputSerializer(serializers.Serializer):
        balance = serializers.IntegerField()

        class Meta:
            ref_name = "WalletBalance"  # schema component name, unique across apps

    @extend_schema(
        operation_id="wallet_retrieve",
        summary="My point balance",
        responses={200: OutputSerializer, **error_responses(NotAuthenticated)},
    )
    def get(self, request: Request) -> Response:
        return Response({"balance": wallet_balance(user=request.user)})


class WalletChargeApi(APIView):
    @extend_schema(
        operation_id="wallet_charges_create",
        summary="Charge points",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=AmountInputSerializer,
        responses={
            201: WalletMovementOutputSerializer,
            **error_responses(
                ValidationFailed, AmountOutOfRange, BalanceCapExceeded, IdempotencyKeyReused, NotAuthenticated
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = AmountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = wallet_charge(
            user=request.user, amount=data.validated_data["amount"], idempotency_key=request.headers.get(HEADER)
        )
        return _movement_response(movement)


class WithdrawalInputSerializer(AmountInputSerializer):
    pin = serializers.CharField(max_length=6, help_text="The payment PIN: a withdrawal moves money out.")


class WalletWithdrawalApi(APIView):
    @extend_schema(
        operation_id="wallet_withdrawals_create",
        summary="Withdraw unused points (needs the payment PIN)",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=WithdrawalInputSerializer,
        responses={
            201: WalletMovementOutputSerializer,
            **error_responses(
                ValidationFailed,
                AmountOutOfRange,
                InsufficientBalance,
                IdempotencyKeyReused,
                NotAuthenticated,
                WrongPin,
                PinAttemptsLimited,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = WithdrawalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = wallet_withdraw(
            user=request.user,
            amount=data.validated_data["amount"],
            pin=data.validated_data["pin"],
            idempotency_key=request.headers.get(HEADER),
        )
        return _movement_response(movement)


class WalletTransactionListApi(APIView):
    @extend_schema(
        operation_id="wallet_transactions_list",
        summary="My ledger, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(LedgerEntryOutputSerializer), **error_responses(NotAuthenticated)},
    )
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(ledger_entry_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(LedgerEntryOutputSerializer(page, many=True).data)
