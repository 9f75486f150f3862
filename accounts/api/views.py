from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import ApiTokenCreatedOutput, ApiTokenCreateInput, ApiTokenOutput, MeOutput
from accounts.selectors import api_token_list_for_user
from accounts.services import api_token_create, api_token_revoke
from core.api.pagination import CursorPagination
from core.api.permissions import AUTHENTICATED
from core.errors import Forbidden


class MeApi(APIView):
    required_permissions = {"get": AUTHENTICATED}

    @extend_schema(responses=MeOutput)
    def get(self, request):
        return Response(MeOutput(request.user).data)


class ApiTokenListCreateApi(APIView):
    """The caller's own tokens. Listing never shows a secret; creating shows it once."""

    pagination_class = CursorPagination  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": AUTHENTICATED, "post": AUTHENTICATED}

    @extend_schema(responses=ApiTokenOutput(many=True))
    def get(self, request):
        paginator = CursorPagination()
        page = paginator.paginate_queryset(api_token_list_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(ApiTokenOutput(page, many=True).data)

    @extend_schema(request=ApiTokenCreateInput, responses={201: ApiTokenCreatedOutput})
    def post(self, request):
        data = ApiTokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        presented = getattr(request.auth, "scope_list", None)
        if presented is not None and "admin" not in presented:
            wider = sorted(set(data.validated_data["scopes"]) - set(presented))
            if wider:
                # A leaked narrow token must not be able to mint a broader one.
                raise Forbidden(f"This token cannot create a token with scopes it does not hold: {', '.join(wider)}.")
        token, plaintext = api_token_create(actor=request.user, user=request.user, **data.validated_data)
        token.token = plaintext
        response = Response(ApiTokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class ApiTokenRevokeApi(APIView):
    required_permissions = {"post": AUTHENTICATED}

    @extend_schema(request=None, responses=ApiTokenOutput)
    def post(self, request, pk: int):
        return Response(ApiTokenOutput(api_token_revoke(actor=request.user, token_id=pk)).data)
