from django.contrib import admin

from integrations.models import AlertLink, AlertSource, ChatWebhook, InboundMessage, Mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "channel", "active", "last_polled_at")
    list_filter = ("kind", "channel", "active")
    readonly_fields = ("last_polled_at", "last_error")


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("message_id", "mailbox", "from_address", "state", "fetched_at", "incident")
    list_filter = ("state", "mailbox")
    search_fields = ("message_id", "from_address", "subject")
    readonly_fields = [f.name for f in InboundMessage._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(AlertSource)
class AlertSourceAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "last_event_at", "events_received")
    readonly_fields = ("last_event_at", "events_received")


@admin.register(AlertLink)
class AlertLinkAdmin(admin.ModelAdmin):
    list_display = ("dedup_key", "source", "incident", "state", "last_event_at", "events")
    list_filter = ("state", "source__kind")
    search_fields = ("dedup_key", "label")
    readonly_fields = [f.name for f in AlertLink._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "format", "active", "max_severity", "events", "regions")
    list_filter = ("format", "active")
    filter_horizontal = ("harm_categories",)
