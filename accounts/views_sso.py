"""Single sign-on entry points: thin wrappers that answer 404 while SSO is not configured,
so the routes exist in every deployment without the provider's settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView


def _enabled() -> None:
    if not settings.FIREBREAK_SSO_ENABLED:
        raise Http404("Single sign-on is not configured.")


@never_cache
def sso_start(request):
    _enabled()
    return OIDCAuthenticationRequestView.as_view()(request)


@never_cache
def sso_callback(request):
    _enabled()
    return OIDCAuthenticationCallbackView.as_view()(request)


class LoginView(auth_views.LoginView):
    """Django's login page, offering single sign-on beside the password form when configured."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = settings.FIREBREAK_SSO_ENABLED
        context["sso_provider_name"] = settings.OIDC_PROVIDER_NAME
        return context
