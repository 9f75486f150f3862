from django.urls import path

from accounts import views, views_sso

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.token_create, name="token-create"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("2fa/", views.two_factor, name="two-factor"),
    path("profile/2fa/remove/", views.two_factor_remove, name="two-factor-remove"),
    path("sso/start/", views_sso.sso_start, name="sso-start"),
    path("sso/callback/", views_sso.sso_callback, name="sso-callback"),
]
