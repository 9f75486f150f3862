from django.core.management.base import BaseCommand, CommandError

from integrations.services import mail_poll_all


class Command(BaseCommand):
    help = "Read the active mailboxes (IMAP or Maildir) once and take new messages in."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", help="Only the mailbox with this name")

    def handle(self, *args, **options):
        results = mail_poll_all(name=options.get("mailbox"))
        if options.get("mailbox") and not results:
            raise CommandError(f"No active mailbox named {options['mailbox']!r}.")
        for r in results:
            line = (
                f"{r.mailbox}: {r.seen} read, {r.accepted} new incidents, {r.threaded} threaded, "
                f"{r.quarantined} quarantined, {r.duplicates} already taken in"
            )
            if r.error:
                self.stderr.write(f"{line}; error: {r.error}")
            else:
                self.stdout.write(line)
