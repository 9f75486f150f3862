from django.conf import settings
from rest_framework import serializers

from accounts.models import ApiToken, User


class MeOutput(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "email", "time_zone", "languages", "roles"]

    def get_roles(self, obj) -> list[str]:
        return sorted(g.name for g in obj.groups.all())


class ApiTokenOutput(serializers.ModelSerializer):
    """A token as listed: never the secret, only the prefix that identifies it."""

    scopes = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at", "is_active"]


class ApiTokenCreatedOutput(ApiTokenOutput):
    token = serializers.CharField(help_text="The secret. It is shown this once and cannot be recovered.")

    class Meta(ApiTokenOutput.Meta):
        fields = [*ApiTokenOutput.Meta.fields, "token"]


class ApiTokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiToken.SCOPES), allow_empty=False, help_text="Any of read, write, intake, admin."
    )
    expires_in_days = serializers.IntegerField(min_value=1, max_value=settings.API_TOKEN_MAX_DAYS, default=90)
