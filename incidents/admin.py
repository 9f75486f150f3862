from django.contrib import admin

from incidents.models import HarmCategory


@admin.register(HarmCategory)
class HarmCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "dsa_category", "dsa_taxonomy_version", "harm_level", "active", "order"]
    list_editable = ["active", "order"]
    list_filter = ["active", "dsa_category"]
    search_fields = ["name", "slug"]
