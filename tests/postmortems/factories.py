import datetime as dt

from postmortems import services


def fill_and_submit(postmortem, actor, *, summary="The challenge spread for six hours before search was blocked."):
    postmortem = services.postmortem_update(actor=actor, postmortem=postmortem, version=postmortem.version, data={"summary": summary})
    return services.postmortem_transition(actor=actor, postmortem=postmortem, action="submit")


def action_item(postmortem, actor, owner, *, days=10, today=None, **data):
    today = today or dt.date.today()
    payload = {"title": "Alert on hashtag velocity", "owner": owner.pk, "due_on": today + dt.timedelta(days=days), "priority": "P1"}
    payload.update(data)
    return services.action_item_create(actor=actor, postmortem=postmortem, data=payload, today=today)
