from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboards.forms import MAX_RANGE_DAYS
from dashboards.rollups import rollup_rebuild_range


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = "Rebuild the dashboards' daily rollup for every UTC day from --from to --to (inclusive); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", help="First day, YYYY-MM-DD (default: 30 days ago)")
        parser.add_argument("--to", dest="date_to", help="Last day, YYYY-MM-DD (default: today, UTC)")
        parser.add_argument("--all", action="store_true", help="From the first incident's day to today")

    def handle(self, *args, **options):
        today = timezone.now().astimezone(dt.UTC).date()
        date_to = _date(options["date_to"]) if options["date_to"] else today
        if options["all"]:
            from incidents.models import Incident

            first = Incident.objects.order_by("created_at").values_list("created_at", flat=True).first()
            date_from = first.astimezone(dt.UTC).date() if first else date_to
        else:
            date_from = _date(options["date_from"]) if options["date_from"] else date_to - dt.timedelta(days=29)
        if date_from > date_to:
            raise CommandError("--from is after --to.")
        if not options["all"] and (date_to - date_from).days + 1 > 10 * MAX_RANGE_DAYS:
            raise CommandError("That range is too long; use --all to rebuild everything.")
        done = rollup_rebuild_range(date_from, date_to)
        self.stdout.write(f"Rebuilt {len(done)} days ({date_from} to {date_to}), {sum(done.values())} rollup rows.")
