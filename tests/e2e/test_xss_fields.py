"""The hostile corpus through every other text field a page shows, in real Chromium.

``test_xss.py`` covers incident titles, summaries and comments through the forms; this file
writes the corpus (the shared fixture plus the cases below) through the services into
tasks, mitigations, stakeholder updates, evidence, post-mortem sections, action items,
schedule names, hand-off notes, saved queue views and the profile's display name,
then opens each page once. A page fails the test if any script runs (alert, confirm,
prompt are trapped before the page's own scripts, dialogs are recorded, CSP
violations are listened for), if the DOM holds an injected script, handler, script URL or
element, or if the console reports an error (the ``page`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services import user_update_profile
from escalations.handoff import handoff_notes_add
from incidents.models_saved_views import SavedView
from incidents.services import incident_create
from incidents.services_collab import evidence_add, mitigation_record, stakeholder_update_create, task_create
from postmortems.services import action_item_create, postmortem_start, postmortem_update
from tests.e2e.conftest import REPO_ROOT
from tests.escalations.factories_schedules import make_schedule, rotation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIXTURE = REPO_ROOT.parent / "shared" / "fixtures" / "hostile-inputs.json"

ADDITIONS = [
    '<svg onload="alert(1)"><circle r="9"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    "[link](javascript:alert(1))",
    "![image](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="jav&#x09;ascript:alert(1)">tab</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">entities</a>',
    '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
    "\u202egnp.exe",
    "zero\u200bwidth\u200djoiner\ufeff",
    "{{ request.user.password }}",
    "{% debug %}{% csrf_token %}",
    "${alert(1)}",
    '<div hx-get="/accounts/logout/" hx-trigger="load">htmx</div>',
    "<style>body{display:none}</style>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<base href='//evil.example/'>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
]


def corpus() -> list[str]:
    if not FIXTURE.exists():
        pytest.fail(f"the shared fixtures are missing: {FIXTURE}")
    shared = [s for s in json.loads(FIXTURE.read_text()) if "\x00" not in s and s.strip()]
    return shared + ADDITIONS


LONG = "<b>" + "A" * 10_000 + "</b>"

TRAP = """(() => {
  window.__xss = [];
  for (const name of ["alert", "confirm", "prompt"]) {
    window[name] = (...args) => { window.__xss.push(name + ":" + String(args[0])); };
  }
  // eval is not wrapped here (Playwright's own evaluation goes through it); the CSP has no
  // 'unsafe-eval', so a page-side eval is refused and reported by the listener below.
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__xss.push("csp:" + e.violatedDirective + ":" + (e.blockedURI || "inline"));
  });
})();"""

ACTIVE_CONTENT = """() => {
  const found = [];
  for (const s of document.querySelectorAll("script")) {
    const src = s.getAttribute("src") || "";
    if (!src.startsWith("/static/")) found.push("script " + s.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = (a.value || "").replace(/[\\s\\u0000-\\u001f]+/g, "").toLowerCase();
      if (name.startsWith("on")) found.push("handler " + el.tagName + " " + name);
      if (name.startsWith("hx-") && !el.closest("[data-app-owned]") && /logout/.test(value)) found.push("htmx " + name);
      if (["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"].includes(name)
          && /^(javascript|vbscript|data:text)/.test(value)) {
        found.push("url " + el.tagName + " " + name + "=" + value.slice(0, 60));
      }
    }
  }
  for (const el of document.querySelectorAll("main iframe, main object, main embed, main base, main meta, main svg script, main style")) {
    found.push("element " + el.tagName);
  }
  for (const el of document.querySelectorAll("base, meta[http-equiv]")) found.push("head " + el.outerHTML.slice(0, 60));
  return [...new Set(found)];
}"""


@pytest.fixture
def guarded(page):
    """The page with script-execution traps installed before any of its own scripts run."""
    dialogs: list[str] = []
    page.add_init_script(TRAP)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    assert dialogs == [], dialogs


def _visit_and_check(page, url: str, must_show: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    expect(page.locator("body")).to_contain_text(must_show)
    assert page.evaluate("window.__xss") == [], url
    assert page.evaluate(ACTIVE_CONTENT) == [], url


def test_hostile_text_in_every_other_field_runs_no_script(guarded, live_server, login, make_user):
    hostile = corpus()
    manager = make_user("manager", role="incident_manager")
    responder = make_user("responder", role="responder")
    incident = incident_create(
        actor=manager,
        data={"title": "Hostile fields", "summary": "x", "channel": "internal_detection", "harm_category": "other", "commander": "manager"},
    )
    now = timezone.now()
    marker = "kestrel-marker"
    for text in hostile[:25]:
        task_create(actor=manager, incident=incident, title=(marker + " " + text)[:200], detail=text)
    for text in hostile[:10]:
        mitigation_record(actor=manager, incident=incident, kind="content_removed", count=1, detail=text)
        evidence_add(actor=manager, incident=incident, kind="content_item", title=text[:200], url="https://video.example/v/1")
    stakeholder_update_create(
        actor=manager, incident=incident, audience="internal", body="\n\n".join(hostile) + LONG, subject=hostile[0][:150]
    )

    postmortem = postmortem_start(actor=manager, incident=incident, owner=manager)
    sections = {"summary": "\n\n".join(hostile), "impact": LONG, "lessons": "\n".join(ADDITIONS)}
    postmortem = postmortem_update(actor=manager, postmortem=postmortem, version=postmortem.version, data=sections)
    for text in hostile[:10]:
        action_item_create(
            actor=manager,
            postmortem=postmortem,
            data={"title": text[:280], "owner": manager.pk, "due_on": dt.date.today() + dt.timedelta(days=7)},
        )

    schedules = [make_schedule(name=text[:100], rotations=[rotation([manager, responder])], now=now) for text in ADDITIONS[:6]]
    for text in hostile[:8]:
        handoff_notes_add(actor=manager, schedule=schedules[0], body=text)
    for text in ADDITIONS[:8]:
        # The queue's save-view form writes the row directly; there is no service for it.
        SavedView.objects.create(user=manager, name=text[:80], query="status=new")
    user_update_profile(actor=manager, user=manager, time_zone="Europe/Dublin", languages=["en"], display_name=ADDITIONS[0][:100])

    login(guarded, "manager")
    base = live_server.url
    pages = [
        (f"{base}/incidents/{incident.reference}/", marker),
        (f"{base}/postmortems/{postmortem.pk}/", "Post-mortem"),
        (f"{base}/postmortems/action-items/", "alert"),
        (f"{base}/schedules/", "svg"),
        (f"{base}/schedules/{schedules[0].pk}/", "svg"),
        (f"{base}/accounts/profile/", "Profile"),
        (f"{base}/", "Hostile fields"),
    ]
    for url, must_show in pages:
        _visit_and_check(guarded, url, must_show)
    # The incident page shows the hostile text as text.
    guarded.goto(f"{base}/incidents/{incident.reference}/")
    expect(guarded.locator("body")).to_contain_text(re.compile(re.escape("<script>alert(1)</script>")))
    guarded.goto("about:blank")
