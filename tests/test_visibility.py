"""Who sees a process: ``FlowPolicy.visibility`` narrows every list and page of a flow, through one filter.

``PrivateRequestFlow`` shows a process to its participants only: the one who
asked (the owner of its start task), whoever claimed or did one of its tasks,
those who may claim one of its waiting tasks, and the flow's managers.
``InitialsFlow`` shows each user the processes whose text starts with their
name (a visibility of the project's own, a callable).
"""

import pytest
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import SampleProcess
from tests.testapp.visibility_flows import InitialsFlow, PrivateRequestFlow
from viewflow.checks import check_flow
from viewflow.models import Task
from viewflow.policy import FlowPolicy
from viewflow.status import TaskStatus
from viewflow.views.urls import process_url, task_url

pytestmark = pytest.mark.django_db

ASK = "testapp.can_ask_sampleprocess"
DECIDE = "testapp.can_decide_sampleprocess"


@pytest.fixture
def people(user_factory):
    return {
        "alice": user_factory("alice", ASK),
        "bob": user_factory("bob", ASK),
        "dave": user_factory("dave", DECIDE),
        "erin": user_factory("erin", DECIDE),
        "boss": user_factory("boss", "viewflow.change_task"),
    }


def ask(client, text):
    response = client.post("/flows/privaterequest/ask/", {"text": text})
    assert response.status_code == 302, response.content.decode()[:500]
    return SampleProcess.objects.get(text=text)


def listed(client, url="/flows/privaterequest/"):
    response = client.get(url)
    assert response.status_code == 200
    return {process.pk for process in response.context["object_list"]}


def task_of(process, node, **filters):
    return Task.objects.get(process_id=process.pk, flow_task=node, **filters)


@pytest.fixture
def requests(people, client_for):
    """alice's request, decided by dave; bob's, still waiting for someone to decide it."""
    clients = {name: client_for(user) for name, user in people.items()}
    mine, bobs = ask(clients["alice"], "alice's"), ask(clients["bob"], "bob's")
    decide = task_of(mine, PrivateRequestFlow.decide)
    assert clients["dave"].post(task_url(decide, "assign")).status_code == 302
    assert clients["dave"].post(task_url(decide), {"approved": "on"}).status_code == 302
    assert task_of(mine, PrivateRequestFlow.decide).status == TaskStatus.DONE
    return clients, mine, bobs


def test_the_process_list_shows_each_user_the_processes_they_take_part_in(requests):
    clients, mine, bobs = requests
    assert listed(clients["alice"]) == {mine.pk}  # she asked
    assert listed(clients["bob"]) == {bobs.pk}
    assert listed(clients["dave"]) == {mine.pk, bobs.pk}  # decided hers, may claim bob's decision
    assert listed(clients["erin"]) == {bobs.pk}  # may claim bob's; alice's was decided by someone else
    assert listed(clients["boss"]) == {mine.pk, bobs.pk}  # a manager sees every process


def test_the_pages_of_a_process_one_does_not_take_part_in_are_not_found(requests):
    clients, mine, bobs = requests
    alice = clients["alice"]
    start = task_of(bobs, PrivateRequestFlow.ask)
    for url in (
        process_url(bobs),
        process_url(bobs, "process-chart"),
        task_url(start, "detail"),
        task_url(task_of(bobs, PrivateRequestFlow.decide), "detail"),
    ):
        assert alice.get(url).status_code == 404, url
    assert alice.get(process_url(mine)).status_code == 200
    assert alice.get(process_url(mine, "process-chart")).status_code == 200
    assert clients["erin"].get(process_url(mine)).status_code == 404
    assert clients["erin"].get(process_url(bobs)).status_code == 200


def test_the_flow_list_counts_only_the_visible_processes(requests):
    clients, _mine, _bobs = requests
    response = clients["alice"].get("/flows/")
    card = next(item for item in response.context["flows"] if item["flow_class"] is PrivateRequestFlow)
    assert card["active"] == 0  # her request is done; bob's runs but is not hers
    response = clients["erin"].get("/flows/")
    card = next(item for item in response.context["flows"] if item["flow_class"] is PrivateRequestFlow)
    assert card["active"] == 1


def test_the_queue_inbox_and_archive_keep_what_is_the_users_own(requests):
    clients, mine, bobs = requests
    assert {t.process_id for t in clients["erin"].get("/flows/queue/").context["object_list"]} == {bobs.pk}
    archive = {t.pk for t in clients["alice"].get("/flows/archive/").context["object_list"]}
    assert archive == {task_of(mine, PrivateRequestFlow.ask).pk}
    erin = clients["erin"]
    claim = erin.post(task_url(task_of(bobs, PrivateRequestFlow.decide), "assign"))
    assert claim.status_code == 302
    assert {t.process_id for t in erin.get("/flows/inbox/").context["object_list"]} == {bobs.pk}


def test_a_callable_visibility(people, client_for, user_factory):
    alice, bob = client_for(people["alice"]), client_for(people["bob"])
    for client, text in ((alice, "alice: a"), (alice, "bob: b"), (bob, "bob: c")):
        assert client.post("/flows/initials/ask/", {"text": text}).status_code == 302
    names = {p.pk: p.text for p in SampleProcess.objects.filter(flow_class=InitialsFlow)}
    assert {names[pk] for pk in listed(alice, "/flows/initials/")} == {"alice: a"}
    assert {names[pk] for pk in listed(bob, "/flows/initials/")} == {"bob: b", "bob: c"}  # not who started it
    assert InitialsFlow.policy.visibility_rule().__name__ == "own_initials"


def test_everyone_who_may_see_the_flow_sees_every_process_by_default(user_factory):
    assert FlowPolicy.visibility == "flow"
    policy = FlowPolicy(PrivateRequestFlow)
    assert policy.process_filter(user_factory("x", ASK)) is None and policy.task_filter(user_factory("y")) is None


def test_the_list_costs_the_same_queries_for_few_or_many_visible_processes(people, client_for):
    alice = client_for(people["alice"])
    ask(alice, "first")

    def cost():
        with CaptureQueriesContext(connection) as captured:
            assert alice.get("/flows/privaterequest/").status_code == 200
        return len(captured)

    few = cost()
    for i in range(12):
        ask(alice, f"more {i}")
    assert cost() == few


def test_participants_are_found_through_the_task_indexes(people):
    policy = PrivateRequestFlow.policy
    query = SampleProcess.objects.filter(flow_class=PrivateRequestFlow).filter(
        policy.process_filter(people["dave"])
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # its tables are tiny here
    plan = query.order_by("-created")[:20].explain()
    assert "vf_task_archive" in plan  # the tasks the user owns
    if connection.vendor == "postgresql":
        assert "vf_task_queue" in plan  # the tasks waiting for their permission (SQLite, without statistics,
    assert "SCAN viewflow_task" not in plan and "Seq Scan on viewflow_task" not in plan  # may take another index)


def test_a_visibility_that_names_no_rule_is_a_check_error():
    from viewflow.base import Flow

    class Typo(FlowPolicy):
        visibility = "participant"

    class TypoFlow(Flow):
        process_cls = SampleProcess
        policy_class = Typo
        start = PrivateRequestFlow.ask.__class__(PrivateRequestFlow.ask.view).Next("end")
        end = PrivateRequestFlow.end.__class__()

    errors = [error for error in check_flow(TypoFlow) if error.id == "viewflow.E015"]
    assert len(errors) == 1 and errors[0].level == checks.ERROR and "'participant'" in errors[0].msg
    assert not [error for error in check_flow(PrivateRequestFlow) if error.id == "viewflow.E015"]
    assert not [error for error in check_flow(InitialsFlow) if error.id == "viewflow.E015"]


def test_the_rest_api_applies_the_same_visibility(requests):
    clients, mine, bobs = requests
    alice = clients["alice"]
    listed_by_api = alice.get("/api/processes/", {"flow": "privaterequest"})
    assert listed_by_api.status_code == 200
    assert [row["id"] for row in listed_by_api.json()["results"]] == [mine.pk]
    assert alice.get(f"/api/flows/privaterequest/processes/{bobs.pk}/").status_code == 404
    assert alice.get(f"/api/flows/privaterequest/processes/{mine.pk}/").status_code == 200
    erin_rows = clients["erin"].get("/api/processes/", {"flow": "privaterequest"}).json()["results"]
    assert [row["id"] for row in erin_rows] == [bobs.pk]
