from django.urls import path

from points.apis import WalletApi, WalletChargeApi, WalletTransactionListApi, WalletWithdrawalApi

urlpatterns = [
    path("wallet", WalletApi.as_view(), name="wallet"),
    path("wallet/charges", WalletChargeApi.as_view(), name="wallet-charges"),
    path("wallet/withdrawals", WalletWithdrawalApi.as_view(), name="wallet-withdrawals"),
    path("wallet/transactions", WalletTransactionListApi.as_view(), name="wallet-transactions"),
]
