from django.urls import path

from accounts.apis import TokenApi, UserSignupApi

urlpatterns = [
    path("users", UserSignupApi.as_view(), name="user-signup"),
    path("auth/token", TokenApi.as_view(), name="auth-token"),
]
