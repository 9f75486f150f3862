from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a personal API token for USER and print its secret once (only a digest is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--scope", dest="scopes", action="append", choices=ApiToken.SCOPES, required=True, help="repeat for several scopes"
        )
        parser.add_argument("--name", default="Command-line token")
        parser.add_argument("--days", type=int, default=90, help="days until the token expires")

    def handle(self, *args, username, scopes, name, days, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named '{username}'.")
        try:
            token, plaintext = api_token_create(actor=user, user=user, name=name, scopes=scopes, expires_in_days=days)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Token '{token.name}' ({token.prefix}) for {user.username}, scopes {', '.join(token.scopes)}, "
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC. Store it now: it is not shown again."
        )
        self.stdout.write(plaintext)
