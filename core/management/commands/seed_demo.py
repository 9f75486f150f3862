"""Demo data for `make run`: every installed app with a `demo` module seeds its own part.

Each app's ``<app>.demo.seed(*, stdout, rng, now)`` must be idempotent, so running this
twice (every `make run` does) changes nothing the second time. Apps run in
INSTALLED_APPS order, which is the dependency order: accounts before incidents.
"""

import importlib
import importlib.util
import random

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.time import db_now


class Command(BaseCommand):
    help = "Load idempotent demo data (users, teams, incidents …). Development settings only."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="random seed, for reproducible demo data")

    def handle(self, *args, seed, **options):
        if not hasattr(settings, "DEMO_PASSWORD"):
            raise CommandError("seed_demo runs only with the development settings (DJANGO_SETTINGS_MODULE=config.settings.dev).")
        rng = random.Random(seed)
        with transaction.atomic():
            now = db_now()
            for config in apps.get_app_configs():
                module_name = f"{config.name}.demo"
                if importlib.util.find_spec(module_name) is None:
                    continue
                module = importlib.import_module(module_name)
                module.seed(stdout=self.stdout, rng=rng, now=now)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in as manager, reviewer, responder, lead, analyst or admin."))
