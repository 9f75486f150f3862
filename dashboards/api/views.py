from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import Rule
from core.errors import ValidationError
from dashboards import selectors
from dashboards.forms import DashboardFilterForm

_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First UTC day (default: 29 days before `to`)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last UTC day (default: today); at most 400 days in all"),
    OpenApiParameter("team", OpenApiTypes.INT),
    OpenApiParameter("region", OpenApiTypes.STR),
    OpenApiParameter("category", OpenApiTypes.STR, description="Harm category slug"),
    OpenApiParameter("channel", OpenApiTypes.STR),
    OpenApiParameter("severity", OpenApiTypes.INT),
    OpenApiParameter("by", OpenApiTypes.STR, description="Volume series by category, region, channel or severity"),
]


class DashboardSummaryApi(APIView):
    """Every dashboard widget's numbers for the filters, over incidents the caller is cleared for."""

    required_permissions = {"get": Rule(perm="dashboards.view_dashboard")}

    @extend_schema(parameters=_PARAMS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        form = DashboardFilterForm.from_query(request.query_params)
        if not form.is_valid():
            errors = form.api_errors()
            field = next(iter(errors))
            raise ValidationError(f"{field}: {errors[field][0]}", errors=errors)
        return Response(selectors.dashboard_summary(user=request.user, filters=form.filters()))
