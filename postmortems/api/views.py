from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import CursorPagination
from core.api.permissions import Rule
from core.errors import NotFound
from incidents.models import Incident
from postmortems import selectors, services
from postmortems.api import serializers as s

VIEW = Rule(perm="postmortems.view_postmortem")


def _parse(serializer_class, data, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _detail(request, pk) -> Response:
    return Response(s.PostMortemOutput(selectors.postmortem_detail(user=request.user, pk=pk)).data)


class PostMortemListApi(APIView):
    pagination_class = CursorPagination  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": VIEW, "post": Rule(perm="postmortems.add_postmortem")}

    @extend_schema(responses=s.PostMortemListOutput(many=True))
    def get(self, request):
        qs = selectors.postmortem_list_visible(
            user=request.user, filters={"status": request.query_params.get("status"), "owner": request.query_params.get("owner")}
        )
        paginator = CursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.PostMortemListOutput(page, many=True).data)

    @extend_schema(request=s.PostMortemCreateInput, responses={201: s.PostMortemOutput})
    def post(self, request):
        data = _parse(s.PostMortemCreateInput, request.data)
        incident = Incident.objects.visible_to(request.user).filter(pk=data["incident"]).first()
        if incident is None:
            raise NotFound("No such incident.")
        postmortem = services.postmortem_start(actor=request.user, incident=incident, owner=data.get("owner"))
        response = _detail(request, postmortem.pk)
        response.status_code = status.HTTP_201_CREATED
        return response


class PostMortemDetailApi(APIView):
    required_permissions = {"get": VIEW, "patch": VIEW}

    @extend_schema(responses=s.PostMortemOutput)
    def get(self, request, pk: int):
        postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
        services.postmortem_record_read(actor=request.user, postmortem=postmortem, how="api")
        return Response(s.PostMortemOutput(postmortem).data)

    @extend_schema(request=s.PostMortemPatchInput, responses=s.PostMortemOutput)
    def patch(self, request, pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        data = _parse(s.PostMortemPatchInput, request.data)
        version = data.pop("version")
        services.postmortem_update(actor=request.user, postmortem=postmortem, version=version, data=data)
        return _detail(request, pk)


class PostMortemTransitionApi(APIView):
    required_permissions = {"post": VIEW}

    @extend_schema(request=s.PostMortemTransitionInput, responses=s.PostMortemOutput)
    def post(self, request, pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        data = _parse(s.PostMortemTransitionInput, request.data)
        services.postmortem_transition(actor=request.user, postmortem=postmortem, action=data["action"], reason=data.get("reason", ""))
        return _detail(request, pk)


class PostMortemFactorsApi(APIView):
    required_permissions = {"post": Rule(perm="postmortems.change_postmortem")}

    @extend_schema(request=s.PostMortemFactorInput, responses={201: s.PostMortemFactorOutput})
    def post(self, request, pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        data = _parse(s.PostMortemFactorInput, request.data)
        factor = services.factor_add(actor=request.user, postmortem=postmortem, **data)
        return Response(s.PostMortemFactorOutput(factor).data, status=status.HTTP_201_CREATED)


class PostMortemCommentsApi(APIView):
    required_permissions = {"post": Rule(perm="postmortems.add_reviewcomment")}

    @extend_schema(request=s.PostMortemCommentInput, responses={201: s.PostMortemCommentOutput})
    def post(self, request, pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        data = _parse(s.PostMortemCommentInput, request.data)
        comment = services.comment_add(actor=request.user, postmortem=postmortem, **data)
        return Response(s.PostMortemCommentOutput(comment).data, status=status.HTTP_201_CREATED)


class ActionItemListApi(APIView):
    pagination_class = CursorPagination  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": VIEW, "post": Rule(perm="postmortems.add_actionitem")}

    @extend_schema(responses=s.ActionItemOutput(many=True))
    def get(self, request, pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        qs = selectors.action_item_list_visible(
            user=request.user, filters={"postmortem": postmortem.pk, "overdue": request.query_params.get("overdue") in ("1", "true")}
        )
        paginator = CursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.ActionItemOutput(page, many=True).data)

    @extend_schema(request=s.ActionItemCreateInput, responses={201: s.ActionItemOutput})
    def post(self, request, pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        data = _parse(s.ActionItemCreateInput, request.data)
        item = services.action_item_create(actor=request.user, postmortem=postmortem, data=data)
        return Response(s.ActionItemOutput(item).data, status=status.HTTP_201_CREATED)


class ActionItemDetailApi(APIView):
    # The owner of an item may update it without the role permission (checked in the service).
    required_permissions = {"get": VIEW, "patch": VIEW}

    @extend_schema(responses=s.ActionItemOutput)
    def get(self, request, pk: int, item_pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        return Response(s.ActionItemOutput(selectors.action_item_get_visible(user=request.user, postmortem=postmortem, pk=item_pk)).data)

    @extend_schema(request=s.ActionItemPatchInput, responses=s.ActionItemOutput)
    def patch(self, request, pk: int, item_pk: int):
        postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
        item = selectors.action_item_get_visible(user=request.user, postmortem=postmortem, pk=item_pk)
        data = _parse(s.ActionItemPatchInput, request.data)
        item = services.action_item_update(actor=request.user, item=item, data=data)
        return Response(s.ActionItemOutput(item).data)
