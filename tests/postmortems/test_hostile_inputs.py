from html.parser import HTMLParser

import pytest

from postmortems import services
from tests.postmortems.factories import fill_and_submit
from tests.shared_fixtures import hostile_inputs

pytestmark = pytest.mark.django_db

CORPUS = hostile_inputs()
FORBIDDEN_TAGS = {"script", "iframe", "svg", "math", "img", "object", "embed", "style"}


class _Walker(HTMLParser):
    """Collects what a browser would build from <main>: tags and their attributes."""

    def __init__(self):
        super().__init__()
        self.in_main = False
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.in_main = True
        if not self.in_main:
            return
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"{tag}[{name}]")
            if name in ("href", "src", "xlink:href") and value and not value.startswith(("/", "#", "http://", "https://", "mailto:")):
                self.problems.append(f"{tag}[{name}={value[:30]}]")


def _dom_problems(html: str) -> list[str]:
    walker = _Walker()
    walker.feed(html)
    return walker.problems


def test_hostile_corpus_in_every_section_leaves_no_active_content(api, client, manager, lead, postmortem):
    text = "\n\n".join(s for s in CORPUS if "\x00" not in s)
    data = {"version": postmortem.version, "title": CORPUS[0], **{name: text for name in ("summary", "impact", "lessons")}}
    response = api(manager).patch(f"/api/v1/postmortems/{postmortem.pk}/", data, format="json")
    assert response.status_code == 200, response.json()
    postmortem.refresh_from_db()
    services.comment_add(actor=lead, postmortem=postmortem, section="summary", body=text[:9000])
    services.factor_add(actor=manager, postmortem=postmortem, category="other", description=text[:5000])
    postmortem = fill_and_submit(postmortem, manager, summary=text)
    services.postmortem_transition(actor=lead, postmortem=postmortem, action="approve")
    services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")

    client.force_login(manager)
    for url in (f"/postmortems/{postmortem.pk}/", f"/postmortems/{postmortem.pk}/print/", "/postmortems/"):
        page = client.get(url)
        assert page.status_code == 200
        assert _dom_problems(page.content.decode()) == [], url


def test_nul_characters_are_a_400_not_a_500(api, manager, postmortem):
    response = api(manager).patch(
        f"/api/v1/postmortems/{postmortem.pk}/", {"version": postmortem.version, "summary": "a\x00b"}, format="json"
    )
    assert response.status_code == 400


def test_hostile_tracker_links_never_become_links(api, manager, postmortem):
    url = f"/api/v1/postmortems/{postmortem.pk}/action-items/"
    for value in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>", "<https://evil.example|x>"):
        response = api(manager).post(url, {"title": "x", "owner": manager.pk, "due_on": "2099-01-01", "tracker_url": value}, format="json")
        assert response.status_code == 400, value
