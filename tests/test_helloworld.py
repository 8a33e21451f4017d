"""The Hello World flow of DESIGN.md §1, walked through the web by two people.

The first test walks the site by its links (queue, assign page, inbox); the
others act through the same pages with viewflow.testing's helpers.
"""

import re

import pytest

from helloworld.flows import HelloWorldFlow
from helloworld.models import HelloWorldProcess
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.testing import FlowTester, FlowTestError, InvalidForm

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def starter(user_factory):
    return user_factory("starter", "helloworld.can_start_helloworldprocess", "helloworld.view_helloworldprocess")


@pytest.fixture
def approver(user_factory):
    return user_factory("approver", "helloworld.can_approve_helloworldprocess", "helloworld.view_helloworldprocess")


def nodes_of(process):
    return [(task.flow_task.name, task.status) for task in process.task_set.order_by("pk")]


def start_process(client, text="Hello"):
    response = client.get("/flows/helloworld/")
    assert response.status_code == 200
    assert 'href="/flows/helloworld/start/"' in response.content.decode()
    response = client.post("/flows/helloworld/start/", {"text": text})
    assert response.status_code == 302
    return HelloWorldProcess.objects.get(text=text)


def claim_and_approve(client, process, approved):
    queue = client.get("/flows/queue/").content.decode()
    assign_url = re.findall(rf'href="(/flows/helloworld/{process.pk}/approve/\d+/assign/)"', queue)[0]
    assert client.get(assign_url).status_code == 200
    response = client.post(assign_url)
    assert response.status_code == 302
    task_url = response["Location"]
    assert task_url == assign_url.removesuffix("assign/")
    inbox = client.get("/flows/inbox/").content.decode()
    assert task_url in inbox
    page = client.get(task_url)
    assert page.status_code == 200 and 'name="approved"' in page.content.decode()
    return client.post(task_url, {"approved": "on"} if approved else {})


def test_approved_request_is_sent_and_process_ends(starter, approver, client_for):
    process = start_process(client_for(starter))
    assert process.status == ProcessStatus.STARTED
    assert nodes_of(process) == [("start", "DONE"), ("approve", "NEW")]

    response = claim_and_approve(client_for(approver), process, approved=True)
    assert response.status_code == 302

    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE and process.finished is not None
    assert process.approved is True
    assert nodes_of(process) == [
        ("start", "DONE"),
        ("approve", "DONE"),
        ("check_approve", "DONE"),
        ("send", "DONE"),
        ("end", "DONE"),
    ]
    approve = process.task_set.get(flow_task=HelloWorldFlow.approve)
    assert approve.owner == approver
    assert list(approve.previous.values_list("flow_task", flat=True)) == [HelloWorldFlow.start]
    detail = client_for(approver).get(f"/flows/helloworld/{process.pk}/").content.decode()
    assert "Done" in detail and "<svg" in detail and "approver" in detail


@pytest.fixture
def hello():
    return FlowTester(HelloWorldFlow)


def test_rejected_request_ends_without_sending(hello, starter, approver):
    run = hello.start(starter, text="No")
    run.complete("approve", approver, approved=False)
    run.assert_status(ProcessStatus.DONE).assert_path("start", "approve", "check_approve", "end")
    assert run.process.approved is False


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/flows/helloworld/")
    assert response.status_code == 302
    assert response["Location"].startswith("/flows/login/?next=/flows/helloworld/")
    assert client.get("/flows/inbox/")["Location"].startswith("/flows/login/")


@pytest.mark.parametrize(
    "login_url, expected",
    [
        ("https://sso.example.com/login/", "https://sso.example.com/login/?next="),  # another server
        ("//sso.example.com/login/", "//sso.example.com/login/?next="),
        ("admin:login", "/admin/login/?next="),  # a URL name
        ("/admin/login/", "/admin/login/?next="),
        ("/nowhere/login/", "/flows/login/?next="),  # nothing there: the site's own page
    ],
)
def test_anonymous_visitors_go_to_the_projects_login_url_when_it_leads_somewhere(client, settings, login_url, expected):
    settings.LOGIN_URL = login_url
    assert client.get("/flows/inbox/")["Location"].startswith(expected)


def test_the_sites_own_login_page_is_found_in_the_urlconf_serving_the_request(client, settings):
    """A second URLconf (another test's, another host's) mounts the site elsewhere: its login page is there."""
    from django.urls import include, path

    from viewflow.site import viewsite

    class elsewhere:
        urlpatterns = [path("work/", include(viewsite.urls))]

    settings.LOGIN_URL = "/nowhere/login/"
    assert client.get("/flows/inbox/")["Location"].startswith("/flows/login/?next=")
    settings.ROOT_URLCONF = elsewhere
    assert client.get("/work/inbox/")["Location"].startswith("/work/login/?next=")


def test_login_page_logs_in(client, starter):
    response = client.post("/flows/login/", {"username": "starter", "password": "starter"})
    assert response.status_code == 302
    assert client.get("/flows/").status_code == 200


def test_user_without_permission_gets_403(user_factory, client_for, starter, approver):
    nobody = client_for(user_factory("nobody"))
    assert nobody.get("/flows/helloworld/").status_code == 403
    assert nobody.get("/flows/helloworld/start/").status_code == 403
    assert nobody.post("/flows/helloworld/start/", {"text": "x"}).status_code == 403
    # the approver may see the flow but not start it
    assert client_for(approver).get("/flows/helloworld/start/").status_code == 403
    assert HelloWorldProcess.objects.count() == 0

    run = FlowTester(HelloWorldFlow).start(starter, text="Hello")
    task = run.task("approve")
    # the starter may not claim or do the approval
    with pytest.raises(FlowTestError, match="answered 403"):
        run.claim("approve", starter)
    with pytest.raises(FlowTestError, match="answered 403"):
        run.complete("approve", starter, approved=True)
    starter_client = client_for(starter)
    assert starter_client.post(f"/flows/helloworld/{run.pk}/approve/{task.pk}/", {"approved": "on"}).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.NEW and task.owner is None


def test_task_of_another_process_is_404(hello, starter, approver, client_for):
    first = hello.start(starter, text="one")
    second = hello.start(starter, text="two")
    task = first.task("approve")
    client = client_for(approver)
    assert client.get(f"/flows/helloworld/{second.pk}/approve/{task.pk}/assign/").status_code == 404
    assert client.get(f"/flows/helloworld/{second.pk}/approve/{task.pk}/").status_code == 404
    assert client.get(f"/flows/helloworld/{first.pk}/start/{task.pk}/detail/").status_code == 404
    assert client.get("/flows/helloworld/99999/").status_code == 404


def test_invalid_start_form_rerenders_with_errors(hello, starter, client_for):
    with pytest.raises(InvalidForm) as refused:
        hello.start(starter, text="")
    assert refused.value.errors == {"text": ["This field is required."]}
    response = client_for(starter).post("/flows/helloworld/start/", {"text": ""})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert HelloWorldProcess.objects.count() == 0 and Task.objects.count() == 0


def test_task_done_twice_gives_a_message_and_no_duplicate(hello, starter, approver, client_for):
    run = hello.start(starter, text="Hello")
    task = run.complete("approve", approver, approved=True)
    url = f"/flows/helloworld/{run.pk}/approve/{task.pk}/"
    response = client_for(approver).post(url, {"approved": "on"}, follow=True)
    assert response.status_code == 200
    assert "already done" in response.content.decode()
    assert run.nodes().count("end") == 1


def test_refused_user_sees_the_sites_403_page_with_the_reason(user_factory, client_for, approver):
    response = client_for(approver).get("/flows/helloworld/start/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not start this process." in page
    assert 'href="/flows/inbox/"' in page  # a way back, inside the site's layout
