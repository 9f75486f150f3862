from __future__ import annotations

from rest_framework import serializers

from postmortems.models import (
    ActionItem,
    ActionItemPriority,
    ActionItemStatus,
    ContributingFactor,
    PostMortem,
    ReviewComment,
    TimelineEntry,
)
from postmortems.services import TRANSITIONS
from postmortems.taxonomy import TEXT_SECTIONS


class PostMortemUserRef(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="__str__")


class PostMortemFactorOutput(serializers.ModelSerializer):
    class Meta:
        model = ContributingFactor
        fields = ["id", "category", "description"]


class PostMortemTimelineEntryOutput(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = ["id", "at", "kind", "text", "source_event"]


class PostMortemCommentOutput(serializers.ModelSerializer):
    author = PostMortemUserRef()

    class Meta:
        model = ReviewComment
        fields = ["id", "section", "author", "body", "created_at"]


class ActionItemOutput(serializers.ModelSerializer):
    owner = PostMortemUserRef()

    class Meta:
        model = ActionItem
        fields = ["id", "postmortem", "title", "owner", "due_on", "priority", "status", "tracker_url", "completed_at", "created_at"]


class PostMortemListOutput(serializers.ModelSerializer):
    incident = serializers.SerializerMethodField()
    owner = PostMortemUserRef(allow_null=True)
    open_items = serializers.IntegerField(read_only=True)
    overdue_items = serializers.IntegerField(read_only=True)

    class Meta:
        model = PostMortem
        fields = [
            "id",
            "title",
            "status",
            "incident",
            "owner",
            "due_on",
            "version",
            "open_items",
            "overdue_items",
            "created_at",
            "published_at",
        ]

    def get_incident(self, obj) -> dict:
        return {"id": obj.incident_id, "reference": obj.incident.reference, "severity": obj.incident.severity}


class PostMortemOutput(PostMortemListOutput):
    factors = PostMortemFactorOutput(many=True)
    timeline = PostMortemTimelineEntryOutput(many=True, source="timeline_entries")
    action_items = ActionItemOutput(many=True)
    comments = PostMortemCommentOutput(many=True)

    class Meta(PostMortemListOutput.Meta):
        fields = [
            *PostMortemListOutput.Meta.fields,
            *TEXT_SECTIONS,
            "impact_data",
            "submitted_at",
            "approved_at",
            "factors",
            "timeline",
            "action_items",
            "comments",
        ]


class PostMortemCreateInput(serializers.Serializer):
    incident = serializers.IntegerField()
    owner = serializers.IntegerField(required=False, allow_null=True)


class PostMortemPatchInput(serializers.Serializer):
    version = serializers.IntegerField()
    title = serializers.CharField(required=False, max_length=300)
    owner = serializers.IntegerField(required=False)
    due_on = serializers.DateField(required=False)
    summary = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    impact = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    detection = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    response = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    went_well = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    went_poorly = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    lessons = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class PostMortemTransitionInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(TRANSITIONS))
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ActionItemCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    owner = serializers.IntegerField()
    due_on = serializers.DateField()
    priority = serializers.ChoiceField(choices=ActionItemPriority.choices, required=False)
    tracker_url = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ActionItemPatchInput(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=300)
    owner = serializers.IntegerField(required=False)
    due_on = serializers.DateField(required=False)
    priority = serializers.ChoiceField(choices=ActionItemPriority.choices, required=False)
    status = serializers.ChoiceField(choices=ActionItemStatus.choices, required=False)
    tracker_url = serializers.CharField(required=False, allow_blank=True, max_length=500)


class PostMortemFactorInput(serializers.Serializer):
    category = serializers.CharField(max_length=30)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class PostMortemCommentInput(serializers.Serializer):
    section = serializers.CharField(max_length=20)
    body = serializers.CharField(max_length=10_000)
