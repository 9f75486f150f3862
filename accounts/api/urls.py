from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("tokens/", views.ApiTokenListCreateApi.as_view(), name="api-tokens"),
    path("tokens/<int:pk>/revoke/", views.ApiTokenRevokeApi.as_view(), name="api-token-revoke"),
]
