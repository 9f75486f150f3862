from celery import shared_task

from core.time import db_now


@shared_task(name="postmortems.reminders_tick", acks_late=True, expires=30, ignore_result=True)
def postmortem_reminders_tick() -> int:
    from postmortems.services import reminders_deliver_due

    return reminders_deliver_due(now=db_now())
