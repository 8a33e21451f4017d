"""DESIGN §1 walked as a person would: from an anonymous visit, by links and buttons only.

The users get exactly the auto-created permissions an admin would give them
(``can_start_…`` to one, ``can_approve_…`` to the other; no ``view_…``), and
every form is posted with its CSRF token, as a browser does.
"""

import re

import pytest

from helloworld.models import HelloWorldProcess
from viewflow.status import ProcessStatus

from .browsing import Visitor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(user_factory):
    return {
        "starter": user_factory("starter", "helloworld.can_start_helloworldprocess"),
        "approver": user_factory("approver", "helloworld.can_approve_helloworldprocess"),
        "nobody": user_factory("nobody"),
    }


def log_in(username, url="/flows/helloworld/"):
    visitor = Visitor().open(url)
    assert "/login/" in visitor.url and 'name="password"' in visitor.html
    visitor.submit("Log in", username=username, password=username)
    assert visitor.status == 200 and "/login/" not in visitor.url, visitor.text
    return visitor


def start_by_links(text):
    starter = log_in("starter")
    assert starter.url == "/flows/helloworld/"  # back where the anonymous visit wanted to go
    starter.follow("Start").submit("Start", text=text)
    assert f"{text}" in starter.text and "started" in starter.text
    return HelloWorldProcess.objects.get(text=text)


def approve_by_links(approved):
    approver = log_in("approver", "/flows/")
    approver.follow(re.compile(r"to claim"))  # the flow list says what waits for them
    assert approver.url.startswith("/flows/queue/")
    approver.follow("Claim").submit("Claim")
    assert "assigned to you" in approver.text
    approver.submit("Done", approved=approved)
    return approver


@pytest.mark.parametrize("approved", [True, False], ids=["approve", "reject"])
def test_a_process_is_started_claimed_and_done_by_links_and_buttons_only(people, approved):
    process = start_by_links("Hello by links")
    approver = approve_by_links(approved)
    assert "is done" in approver.text

    # the message after the last task links to the process, which shows the outcome
    approver.follow(f"#{process.pk}")
    assert approver.url == f"/flows/helloworld/{process.pk}/"
    assert re.search(rf"#{process.pk}\s+Done", approver.text), approver.text
    assert "History" in approver.text and "<svg" in approver.html
    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE and process.approved is approved
    sent = process.task_set.filter(flow_task="helloworld.flows.HelloWorldFlow.send").exists()
    assert sent is approved

    # the archive keeps what they did
    approver.follow("Archive")
    assert "Approve" in approver.text and f"#{process.pk}" in approver.text


def test_a_user_without_permission_sees_no_flow_and_gets_403_on_its_pages(people):
    process = start_by_links("Not for you")
    nobody = log_in("nobody", "/flows/")
    assert "Hello world" not in nobody.text
    for url in ("/flows/helloworld/", "/flows/helloworld/start/", f"/flows/helloworld/{process.pk}/"):
        assert nobody.open(url).status == 403, url


def test_log_out_and_back_in_by_the_buttons(people):
    starter = log_in("starter")
    starter.submit("Log out")
    assert "/login/" in starter.url
    assert starter.open("/flows/").url.startswith("/flows/login/")
