"""Your own contact methods and notification rules over the API. Another person's are
404; the services validate and name the failing field."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import AUTHENTICATED
from escalations import contact_services as svc
from escalations.models import ContactMethod, NotificationRule, Urgency, WebhookFormat


class ContactMethodOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    target = serializers.CharField()
    webhook_format = serializers.CharField()
    verified = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ContactMethodCreatedOutput(ContactMethodOutput):
    secret = serializers.CharField(help_text="The webhook's HMAC signing key (empty for email).")


class ContactMethodInput(serializers.Serializer):
    """Shape only; the service validates meaning and names the failing field."""

    kind = serializers.CharField(max_length=10)
    target = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    webhook_format = serializers.ChoiceField(choices=WebhookFormat.choices, required=False, default=WebhookFormat.SLACK)


class VerifyInput(serializers.Serializer):
    code = serializers.CharField(max_length=12)


@extend_schema_serializer(component_name="NotificationRuleOutput")  # paging.RuleOutput is the policy rule
class RuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    contact_method = serializers.IntegerField(source="contact_method_id")
    delay_minutes = serializers.IntegerField()
    urgency = serializers.CharField()


class RuleInput(serializers.Serializer):
    contact_method = serializers.IntegerField()
    delay_minutes = serializers.IntegerField(min_value=0, max_value=svc.MAX_DELAY_MINUTES, default=0)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.ANY)


def _valid(serializer_class, data) -> dict:
    parsed = serializer_class(data=data)
    parsed.is_valid(raise_exception=True)
    return dict(parsed.validated_data)


class ContactMethodListApi(APIView):
    required_permissions = {"get": AUTHENTICATED, "post": AUTHENTICATED}

    @extend_schema(responses=ContactMethodOutput(many=True))
    def get(self, request):
        methods = ContactMethod.objects.filter(user=request.user).exclude(kind="in_app").order_by("id")
        return Response(ContactMethodOutput(methods, many=True).data)

    @extend_schema(request=ContactMethodInput, responses={201: ContactMethodCreatedOutput})
    def post(self, request):
        values = _valid(ContactMethodInput, request.data)
        method = svc.contact_method_create(actor=request.user, **values)
        svc.contact_method_send_code(actor=request.user, method=method, now=timezone.now())
        return Response(ContactMethodCreatedOutput(method).data, status=status.HTTP_201_CREATED)


class ContactMethodDetailApi(APIView):
    required_permissions = {"get": AUTHENTICATED, "delete": AUTHENTICATED}

    @extend_schema(responses=ContactMethodOutput)
    def get(self, request, pk: int):
        return Response(ContactMethodOutput(svc.contact_method_get_own(user=request.user, pk=pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        svc.contact_method_delete(actor=request.user, method=svc.contact_method_get_own(user=request.user, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactMethodSendCodeApi(APIView):
    required_permissions = {"post": AUTHENTICATED}

    @extend_schema(request=None, responses={202: None})
    def post(self, request, pk: int):
        method = svc.contact_method_get_own(user=request.user, pk=pk)
        svc.contact_method_send_code(actor=request.user, method=method, now=timezone.now())
        return Response(status=status.HTTP_202_ACCEPTED)


class ContactMethodVerifyApi(APIView):
    required_permissions = {"post": AUTHENTICATED}

    @extend_schema(request=VerifyInput, responses=ContactMethodOutput)
    def post(self, request, pk: int):
        method = svc.contact_method_get_own(user=request.user, pk=pk)
        method = svc.contact_method_verify(actor=request.user, method=method, **_valid(VerifyInput, request.data))
        return Response(ContactMethodOutput(method).data)


class NotificationRuleListApi(APIView):
    required_permissions = {"get": AUTHENTICATED, "post": AUTHENTICATED}

    @extend_schema(responses=RuleOutput(many=True))
    def get(self, request):
        return Response(RuleOutput(NotificationRule.objects.filter(user=request.user).order_by("delay_minutes", "id"), many=True).data)

    @extend_schema(request=RuleInput, responses={201: RuleOutput})
    def post(self, request):
        values = _valid(RuleInput, request.data)
        method = svc.contact_method_get_own(user=request.user, pk=values.pop("contact_method"))
        rule = svc.notification_rule_create(actor=request.user, method=method, **values)
        return Response(RuleOutput(rule).data, status=status.HTTP_201_CREATED)


class NotificationRuleDetailApi(APIView):
    required_permissions = {"delete": AUTHENTICATED}

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        svc.notification_rule_delete(actor=request.user, pk=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
