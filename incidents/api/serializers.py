"""Input serializers parse and type-check; the services validate the domain rules.
Output serializers read only what the selectors already joined or prefetched."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Region
from incidents.models import (
    Channel,
    Comment,
    CommentVisibility,
    HarmCategory,
    Incident,
    IncidentUserObjectPermission,
    Notification,
    Participant,
    Severity,
    Status,
    Surface,
    TimelineEvent,
)

TEXT_MAX = 20_000
COMMENT_MAX = 50_000


class IncidentUserRef(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class IncidentItemInput(serializers.Serializer):
    url = serializers.CharField(required=False, max_length=2000)
    id = serializers.CharField(required=False, max_length=2000)
    handle = serializers.CharField(required=False, max_length=2000)
    kind = serializers.CharField(required=False, max_length=2000)
    note = serializers.CharField(required=False, max_length=2000)


class IncidentFieldsInput(serializers.Serializer):
    """Fields shared by create, intake and edit."""

    title = serializers.CharField(max_length=300)
    summary = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    harm_category = serializers.CharField(max_length=60, help_text="Harm category slug (or id)")
    region = serializers.ChoiceField(choices=Region.choices, required=False)
    countries = serializers.ListField(child=serializers.CharField(max_length=2), required=False, max_length=300)
    languages = serializers.ListField(child=serializers.CharField(max_length=16), required=False, max_length=100)
    surfaces = serializers.ListField(child=serializers.ChoiceField(choices=Surface.choices), required=False, max_length=10)
    content_items = serializers.ListField(child=IncidentItemInput(), required=False, max_length=500)
    accounts = serializers.ListField(child=IncidentItemInput(), required=False, max_length=500)
    hashtags = serializers.ListField(child=serializers.CharField(max_length=140), required=False, max_length=500)
    keywords = serializers.ListField(child=serializers.CharField(max_length=140), required=False, max_length=500)
    reach_views = serializers.IntegerField(required=False, min_value=0, max_value=2**62)
    minors_involved = serializers.BooleanField(required=False)
    imminent_risk = serializers.BooleanField(required=False)
    media_interest = serializers.BooleanField(required=False)
    regulatory = serializers.BooleanField(required=False)
    compartment = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text="Compartment slug")
    legal_hold = serializers.BooleanField(required=False)
    team = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text="Team slug or id")
    first_signal_at = serializers.DateTimeField(required=False)
    received_at = serializers.DateTimeField(required=False)
    intake_details = serializers.DictField(
        child=serializers.CharField(max_length=2000, allow_blank=True),
        required=False,
        help_text="Channel details: authority, legal_instrument, order_reference (regulator order); outlet, reporter_deadline (media inquiry) …",
    )


class IncidentCreateInput(IncidentFieldsInput):
    severity = serializers.IntegerField(min_value=1, max_value=4, required=False, help_text="Omit to use the proposed severity")
    commander = serializers.CharField(max_length=150, required=False, allow_blank=True, help_text="User id or username")


class IncidentUpdateInput(IncidentFieldsInput):
    version = serializers.IntegerField(min_value=1, help_text="The version you loaded; a stale version gets 409 with the current state")
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    related = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=100)
    teams_engaged = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=100)


class IncidentTransitionInput(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    resolution_summary = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class IncidentSeverityInput(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    reason = serializers.CharField(max_length=2000)
    version = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class IncidentCommentInput(serializers.Serializer):
    body = serializers.CharField(max_length=COMMENT_MAX)
    visibility = serializers.ChoiceField(choices=CommentVisibility.choices, default=CommentVisibility.INTERNAL)
    original_language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    translation = serializers.CharField(max_length=COMMENT_MAX, required=False, allow_blank=True, default="")
    translation_language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")


class IncidentKeyMomentInput(serializers.Serializer):
    summary = serializers.CharField(max_length=1000)
    at = serializers.DateTimeField(required=False)


class IncidentGrantInput(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="User id or username")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class IncidentBreakGlassInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why you need access; sent to the compartment's owners")


class HarmCategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = HarmCategory
        fields = ["id", "slug", "name", "dsa_category", "dsa_taxonomy_version", "harm_level", "active"]


_DATETIME = serializers.DateTimeField()  # formats in the active time zone, as the declared fields do


class IncidentOutput(serializers.ModelSerializer):
    harm_category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    compartment = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    commander = IncidentUserRef(read_only=True, allow_null=True)
    severity_label = serializers.CharField(source="get_severity_display", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "version",
            "title",
            "summary",
            "channel",
            "severity",
            "severity_label",
            "status",
            "cycle",
            "harm_category",
            "region",
            "countries",
            "languages",
            "surfaces",
            "hashtags",
            "keywords",
            "reach_views",
            "minors_involved",
            "imminent_risk",
            "media_interest",
            "regulatory",
            "waiting_on_external",
            "waiting_reason",
            "compartment",
            "legal_hold",
            "commander",
            "team",
            "parent",
            "merged_into",
            "first_signal_at",
            "received_at",
            "created_at",
            "acknowledged_at",
            "triaged_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
            "updated_at",
        ]
        read_only_fields = fields

    _PLAIN = (
        "id", "reference", "version", "title", "summary", "channel", "severity", "status", "cycle", "region", "countries",
        "languages", "surfaces", "hashtags", "keywords", "reach_views", "minors_involved", "imminent_risk", "media_interest",
        "regulatory", "waiting_on_external", "waiting_reason", "legal_hold",
    )  # fmt: skip
    _TIMES = (
        "first_signal_at", "received_at", "created_at", "acknowledged_at", "triaged_at", "mitigated_at", "resolved_at",
        "closed_at", "updated_at",
    )  # fmt: skip

    def to_representation(self, incident: Incident) -> dict:
        """The list API's hot path: the same document as the declared fields (a test holds
        the two equal) without DRF's per-field dispatch, which cost more than the query."""
        data = {name: getattr(incident, name) for name in self._PLAIN}
        commander = incident.commander
        data.update(
            severity_label=incident.get_severity_display(),
            harm_category=incident.harm_category.slug,
            compartment=incident.compartment.slug if incident.compartment_id else None,
            team=incident.team.slug if incident.team_id else None,
            commander=({"id": commander.pk, "username": commander.username, "display_name": commander.display_name} if commander else None),
            parent=incident.parent_id,
            merged_into=incident.merged_into_id,
        )
        as_text = _DATETIME.to_representation
        data.update((name, as_text(value) if value else None) for name in self._TIMES for value in [getattr(incident, name)])
        return {name: data[name] for name in self.Meta.fields}


class ParticipantOutput(serializers.ModelSerializer):
    user = IncidentUserRef(read_only=True)

    class Meta:
        model = Participant
        fields = ["user", "role", "added_at"]


class IncidentDetailOutput(IncidentOutput):
    participants = ParticipantOutput(source="participant_links", many=True, read_only=True)
    teams_engaged = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    related = serializers.SerializerMethodField()
    resolution_summary = serializers.CharField(read_only=True)

    def to_representation(self, incident: Incident) -> dict:
        return serializers.ModelSerializer.to_representation(self, incident)

    class Meta(IncidentOutput.Meta):
        fields = [
            *IncidentOutput.Meta.fields,
            "content_items",
            "accounts",
            "intake_details",
            "resolution_summary",
            "participants",
            "teams_engaged",
            "related",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_related(self, obj) -> list[int]:
        # Only links the reader can see: a restricted neighbour is not even hinted at.
        visible = self.context.get("visible_related")
        return sorted(r.pk for r in obj.related.all() if visible is None or r.pk in visible)


class IntakeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.CharField()
    created = serializers.BooleanField(help_text="False when this repeats an earlier request with the same Idempotency-Key")


class TimelineEventOutput(serializers.ModelSerializer):
    actor = IncidentUserRef(read_only=True, allow_null=True)

    class Meta:
        model = TimelineEvent
        fields = ["id", "at", "kind", "actor", "summary", "data", "cycle", "is_key_moment"]
        read_only_fields = fields


class IncidentCommentOutput(serializers.ModelSerializer):
    author = IncidentUserRef(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "author",
            "body",
            "body_html",
            "visibility",
            "original_language",
            "translation",
            "translation_html",
            "translation_language",
            "created_at",
        ]
        read_only_fields = fields


class IncidentGrantOutput(serializers.ModelSerializer):
    user = IncidentUserRef(read_only=True)
    granted_by = IncidentUserRef(read_only=True, allow_null=True)

    class Meta:
        model = IncidentUserObjectPermission
        fields = ["id", "user", "granted_by", "reason", "expires_at"]
        read_only_fields = fields


class IncidentDuplicateOutput(serializers.Serializer):
    incident = IncidentOutput()
    reason = serializers.CharField()


class IncidentNotificationOutput(serializers.ModelSerializer):
    incident_reference = serializers.CharField(source="incident.reference", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "url", "incident", "incident_reference", "created_at", "read_at"]
        read_only_fields = fields
