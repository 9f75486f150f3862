from celery import shared_task


@shared_task(name="integrations.mail_poll", acks_late=True, expires=240, ignore_result=True)
def mail_poll() -> int:
    """Read every active mailbox; idempotent per Message-ID, so an overlapping run repeats nothing."""
    from integrations.services import mail_poll_all

    return sum(r.seen for r in mail_poll_all())
