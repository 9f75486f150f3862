"""The application's URLs plus the baseline of B1: the same 50 rows through a minimal view."""

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns

FIELDS = ("id", "reference", "title", "summary", "channel", "severity", "status", "region", "created_at", "updated_at")


def minimal_list(request):
    from incidents.models import Incident

    rows = list(Incident.objects.order_by("-created_at", "-id").values(*FIELDS)[:50])
    return JsonResponse({"results": rows})


urlpatterns = [path("bench/minimal/", minimal_list), *app_urlpatterns]
