"""The REST API (viewflow.contrib.rest): every endpoint, its bodies and its status codes."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from helloworld.flows import HelloWorldFlow
from orders.flows import OrderFlow
from orders.models import OrderLine
from tests.testapp.flows import FunctionViewsFlow
from tests.testapp.models import SampleProcess
from tests.testapp.rest_flows import PrivateFlow, SerializedFlow
from viewflow.models import Process, Task

pytestmark = pytest.mark.django_db

START = "/api/flows/helloworld/start/start/"


@pytest.fixture
def api_for():
    """``api_for(user)``: an API client sending ``user``'s token (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def people(user_factory):
    class People:
        starter = user_factory("starter", "helloworld.can_start_helloworldprocess")
        approver = user_factory("approver", "helloworld.can_approve_helloworldprocess")
        other_approver = user_factory("other", "helloworld.can_approve_helloworldprocess")
        outsider = user_factory("outsider")
        manager = user_factory("manager", "viewflow.change_task")

    return People


def start_hello(api, text="Hello, API"):
    response = api.post(START, {"text": text}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def approve_task(process_id):
    return Task.objects.get(process_id=process_id, flow_task=HelloWorldFlow.approve)


def task_url(task, action=None):
    node = task.flow_task
    url = f"/api/flows/{node.flow_class._meta.flow_label}/processes/{task.process_id}/{node.name}/{task.pk}/"
    return url + (f"{action}/" if action else "")


def test_hello_world_start_claim_complete_through_the_api(people, api_for, django_capture_on_commit_callbacks):
    """DESIGN §1 through JSON: start, the approver claims and approves, the job runs, the process ends."""
    starter, approver = api_for(people.starter), api_for(people.approver)
    process = start_hello(starter)
    assert process["status"] == "STARTED"
    assert process["data"] == {"text": "Hello, API", "approved": False}
    assert process["url"] == f"/api/flows/helloworld/processes/{process['id']}/"
    assert [task["node"] for task in process["active_tasks"]] == ["approve"]

    queue = approver.get("/api/tasks/queue/").json()
    assert [task["process"] for task in queue["results"]] == [process["id"]]
    task_link = queue["results"][0]["url"]
    assert approver.get(task_link).json()["actions"] == ["assign"]

    claimed = approver.post(task_link + "assign/")
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["status"] == "ASSIGNED" and claimed.json()["owner_username"] == "approver"
    assert claimed.json()["actions"] == ["complete", "unassign"]
    assert [task["url"] for task in approver.get("/api/tasks/inbox/").json()["results"]] == [task_link]

    with django_capture_on_commit_callbacks(execute=True):  # the Job's message is sent on commit
        done = approver.post(task_link + "complete/", {"approved": True}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "DONE"
    stored = HelloWorldFlow.process_cls.objects.get(pk=process["id"])
    assert stored.approved and stored.status == "DONE"  # the Job ran after the step committed
    assert [task["url"] for task in approver.get("/api/tasks/archive/").json()["results"]] == [task_link]
    history = starter.get(process["history"]).json()["results"]
    assert [task["node"] for task in history] == ["start", "approve", "check_approve", "send", "end"]
    assert history[0]["owner_username"] == "starter"  # who started it, as the site records


def test_start_validates_with_the_start_form(people, api_for):
    api = api_for(people.starter)
    response = api.post(START, {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"text": ["This field is required."]}
    response = api.post(START, {"text": "x" * 151}, format="json")
    assert response.status_code == 400 and "text" in response.json()
    assert not Process.objects.exists()  # nothing half-written


def test_start_validates_with_a_custom_form_class(user_factory, api_for):
    """A Start node whose view names a ``form_class`` with its own clean_text()."""
    user = user_factory("formclass", superuser=True)
    api = api_for(user)
    response = api.post("/api/flows/formclass/start/start/", {"text": "quietly"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"text": ["Say it with an exclamation mark."]}
    assert api.post("/api/flows/formclass/start/start/", {"text": "loudly!"}, format="json").status_code == 201


def test_complete_validates_with_the_task_form(people, api_for):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    approver = api_for(people.approver)
    approver.post(task_url(task, "assign"))
    response = approver.post(task_url(task, "complete"), {"approved": "maybe"}, format="json")
    assert response.status_code == 200  # a checkbox reads any text as ticked, as in a browser
    assert HelloWorldFlow.process_cls.objects.get(pk=process["id"]).approved


def test_formsets_travel_as_lists_under_their_prefix(user_factory, api_for):
    clerk = user_factory("clerk", "orders.can_start_orderprocess")
    api = api_for(clerk)
    body = {"customer": "Ada", "address": "1 Loop Rd", "express": True, "prepaid": True, "lines": []}
    response = api.post("/api/flows/order/start/start/", body, format="json")
    assert response.status_code == 400  # no lines: the formset refuses
    assert list(response.json()) == ["lines-non_field_errors"]
    body["lines"] = [{"product": "Widget", "quantity": 3}, {"product": "", "quantity": "many"}]
    response = api.post("/api/flows/order/start/start/", body, format="json")
    assert response.status_code == 400
    assert response.json()["lines"] == [
        {}, {"product": ["This field is required."], "quantity": ["Enter a whole number."]}
    ]
    assert not OrderFlow.process_cls.objects.exists()
    body["lines"] = [{"product": "Widget", "quantity": 3}, {"product": "Gadget", "quantity": 1}]
    response = api.post("/api/flows/order/start/start/", body, format="json")
    assert response.status_code == 201, response.content
    order = OrderFlow.process_cls.objects.get(pk=response.json()["id"])
    assert order.customer == "Ada" and order.express
    assert sorted((line.product, line.quantity) for line in order.lines.all()) == [("Gadget", 1), ("Widget", 3)]


def test_a_formset_of_existing_rows_is_sent_by_key(user_factory, api_for):
    """The packer's formset edits the order's lines: each line is sent with its id."""
    clerk = user_factory("clerk", "orders.can_start_orderprocess")
    packer = user_factory("packer", "orders.can_package_orderprocess")
    body = {"customer": "Ada", "address": "1 Loop Rd", "prepaid": True,
            "lines": [{"product": "Widget", "quantity": 1}, {"product": "Gadget", "quantity": 2}]}
    order_id = api_for(clerk).post("/api/flows/order/start/start/", body, format="json").json()["id"]
    task = Task.objects.get(process_id=order_id, flow_task=OrderFlow.package)
    api = api_for(packer)
    assert api.post(task_url(task, "assign")).status_code == 200
    widget, gadget = OrderLine.objects.filter(order_id=order_id).order_by("pk")
    body = {"weight_kg": "2.5", "lines": [{"id": gadget.pk, "packed": False}, {"id": widget.pk, "packed": True}]}
    response = api.post(task_url(task, "complete"), body, format="json")
    assert response.status_code == 400
    assert response.json() == {"lines": [{"packed": ["This field is required."]}, {}]}  # the gadget is not packed
    lines = [{"id": widget.pk, "packed": True}, {"id": gadget.pk, "packed": True}]
    response = api.post(task_url(task, "complete"), {"weight_kg": "2.5", "lines": lines}, format="json")
    assert response.status_code == 200, response.content
    assert set(OrderLine.objects.filter(order_id=order_id).values_list("packed", flat=True)) == {True}


def test_a_node_names_a_serializer_and_a_function_view_answers_405(user_factory, api_for):
    user = user_factory("serial", "testapp.can_start_sampleprocess", "testapp.can_review_sampleprocess",
                        "testapp.can_approve_sampleprocess")
    api = api_for(user)
    response = api.post("/api/flows/serialized/start/start/", {"text": "quiet"}, format="json")
    assert response.status_code == 400 and response.json() == {"text": ["Say it with an exclamation mark."]}
    response = api.post("/api/flows/serialized/start/start/", {"text": "loud!", "count": 2}, format="json")
    assert response.status_code == 201, response.content
    process = SampleProcess.objects.get(pk=response.json()["id"])
    assert (process.text, process.count, process.status) == ("loud!", 2, "STARTED")
    assert Task.objects.get(process=process, flow_task=SerializedFlow.start).owner == user
    review = Task.objects.get(process=process, flow_task=SerializedFlow.review)
    assert api.post(task_url(review, "assign")).status_code == 200
    response = api.post(task_url(review, "complete"), {"approved": True}, format="json")
    assert response.status_code == 200, response.content
    assert SampleProcess.objects.get(pk=process.pk).approved
    approve = Task.objects.get(process=process, flow_task=SerializedFlow.approve)
    assert api.post(task_url(approve, "assign")).status_code == 200
    assert "complete" not in api.get(task_url(approve)).json()["actions"]
    response = api.post(task_url(approve, "complete"), {"approved": True}, format="json")
    assert response.status_code == 405
    assert ".Serializer(" in response.json()["detail"]
    assert Task.objects.get(pk=approve.pk).status == "ASSIGNED"


def test_a_start_through_a_function_view_answers_405(user_factory, api_for):
    user = user_factory("fn", superuser=True)
    response = api_for(user).post("/api/flows/functionviews/start/start/", {}, format="json")
    assert response.status_code == 405
    assert "FunctionViewsFlow" in response.json()["detail"]
    assert not SampleProcess.objects.exists()
    assert FunctionViewsFlow  # the flow the URL names


# -- status codes ------------------------------------------------------------------------


def test_anonymous_gets_401_with_a_challenge(people, api_for):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    anonymous = api_for(None)
    for method, url in [
        ("get", "/api/flows/"), ("get", "/api/flows/helloworld/"), ("post", START), ("get", "/api/processes/"),
        ("get", process["url"]), ("get", process["history"]), ("post", process["url"] + "cancel/"),
        ("get", task_url(task)), ("post", task_url(task, "assign")), ("post", task_url(task, "complete")),
        ("get", "/api/tasks/inbox/"), ("get", "/api/tasks/queue/"), ("get", "/api/tasks/archive/"),
    ]:
        response = getattr(anonymous, method)(url)
        assert response.status_code == 401, (method, url, response.status_code)
        assert response["WWW-Authenticate"].startswith("Token"), url


def test_an_outsider_gets_403_everywhere(people, api_for):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    outsider = api_for(people.outsider)
    assert outsider.get("/api/flows/").json() == []
    for method, url in [
        ("get", "/api/flows/helloworld/"), ("post", START), ("get", process["url"]), ("get", process["history"]),
        ("post", process["url"] + "cancel/"), ("get", task_url(task)), ("post", task_url(task, "assign")),
        ("post", task_url(task, "complete")), ("post", task_url(task, "cancel")),
        ("get", "/api/processes/?flow=helloworld"),
    ]:
        response = getattr(outsider, method)(url, {}, format="json") if method == "post" else outsider.get(url)
        assert response.status_code == 403, (method, url, response.status_code, response.content)
    assert outsider.get("/api/tasks/queue/").json()["results"] == []
    assert outsider.get("/api/processes/").json()["results"] == []
    assert Task.objects.get(pk=task.pk).status == "NEW"


def test_a_user_without_the_permission_of_an_operation_gets_403(people, api_for):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    starter = api_for(people.starter)  # sees the flow, may not approve
    assert starter.get(task_url(task)).json()["actions"] == []
    assert starter.post(task_url(task, "assign")).status_code == 403
    assert starter.post(task_url(task, "cancel")).status_code == 403
    assert starter.post(process["url"] + "cancel/").status_code == 403
    approver = api_for(people.approver)
    approver.post(task_url(task, "assign"))
    intruder = api_for(people.other_approver)
    assert intruder.post(task_url(task, "complete"), {"approved": True}, format="json").status_code == 403


def test_unknown_ids_and_another_flows_ids_get_404(people, api_for, user_factory):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    manager = api_for(people.manager)
    other = SampleProcess.objects.create(flow_class=FunctionViewsFlow, status="STARTED")
    for url in [
        f"/api/flows/helloworld/processes/{other.pk}/",  # a process of another flow
        f"/api/flows/functionviews/processes/{process['id']}/",
        "/api/flows/helloworld/processes/999999/",
        "/api/flows/helloworld/processes/abc/",
        "/api/flows/helloworld/processes/99999999999999999999999/",
        f"/api/flows/helloworld/processes/{process['id']}/approve/999999/",
        f"/api/flows/helloworld/processes/{other.pk}/approve/{task.pk}/",
        f"/api/flows/helloworld/processes/{process['id']}/start/{task.pk}/",  # the task is not of that node
    ]:
        assert manager.get(url).status_code == 404, url
    assert manager.post(f"/api/flows/helloworld/processes/{other.pk}/approve/{task.pk}/complete/").status_code == 404
    assert manager.post(f"/api/flows/helloworld/processes/{other.pk}/approve/{task.pk}/assign/").status_code == 404
    assert manager.post(f"/api/flows/helloworld/processes/{other.pk}/cancel/").status_code == 404
    assert manager.get("/api/flows/nosuchflow/").status_code == 404


def test_completing_twice_is_a_conflict(people, api_for):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    approver = api_for(people.approver)
    approver.post(task_url(task, "assign"))
    assert approver.post(task_url(task, "complete"), {"approved": False}, format="json").status_code == 200
    again = approver.post(task_url(task, "complete"), {"approved": True}, format="json")
    assert again.status_code == 409
    assert "already done" in again.json()["detail"]
    assert not HelloWorldFlow.process_cls.objects.get(pk=process["id"]).approved


def test_claiming_a_task_someone_claimed_meanwhile_is_a_conflict(people, api_for):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    assert api_for(people.approver).post(task_url(task, "assign")).status_code == 200
    late = api_for(people.other_approver).post(task_url(task, "assign"))
    assert late.status_code == 409
    assert "cannot be assigned" in late.json()["detail"]
    assert Task.objects.get(pk=task.pk).owner == people.approver


def test_an_operation_the_task_does_not_allow_is_400(people, api_for):
    """Undo once the task's successors ran: the status is right (DONE), the flow forbids it."""
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    api_for(people.approver).post(task_url(task, "assign"))
    api_for(people.approver).post(task_url(task, "complete"), {"approved": False}, format="json")
    manager = api_for(people.manager)
    assert "undo" not in manager.get(task_url(task)).json()["actions"]
    response = manager.post(task_url(task, "undo"))
    assert response.status_code in (400, 409)
    response = manager.post(task_url(task, "retry"))
    assert response.status_code == 409  # not in error (any more): reload it


def test_manager_operations(people, api_for, user_factory):
    process = start_hello(api_for(people.starter))
    task = approve_task(process["id"])
    manager = api_for(people.manager)
    assert sorted(manager.get(task_url(task)).json()["actions"]) == ["assign", "cancel", "reassign"]
    response = manager.post(task_url(task, "reassign"), {"user": people.outsider.pk}, format="json")
    assert response.status_code == 400 and "user" in response.json()  # may not do the task
    response = manager.post(task_url(task, "reassign"), {"user": people.approver.pk}, format="json")
    assert response.status_code == 200 and response.json()["owner_username"] == "approver"
    assert api_for(people.approver).post(task_url(task, "unassign")).status_code == 200
    assert Task.objects.get(pk=task.pk).status == "NEW"
    assert manager.post(task_url(task, "cancel")).status_code == 200
    assert Task.objects.get(pk=task.pk).status == "CANCELED"
    assert HelloWorldFlow.process_cls.objects.get(pk=process["id"]).status == "CANCELED"
    assert manager.post(process["url"] + "cancel/").status_code == 409  # canceled already


def test_cancel_a_process(people, api_for):
    process = start_hello(api_for(people.starter))
    manager = api_for(people.manager)
    response = manager.post(process["url"] + "cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELED" and response.json()["actions"] == []
    assert approve_task(process["id"]).status == "CANCELED"


def test_undo_and_retry(user_factory, api_for, django_capture_on_commit_callbacks):
    """Undo reopens a done task while its successor waits; retry runs a job in error again."""
    manager = user_factory("boss", superuser=True)
    api = api_for(manager)
    process = start_hello(api)
    task = approve_task(process["id"])
    api.post(task_url(task, "assign"))
    api.post(task_url(task, "complete"), {"approved": True}, format="json")
    send = Task.objects.get(process_id=process["id"], flow_task=HelloWorldFlow.send)
    assert send.status == "SCHEDULED"  # its message waits for a commit that this test does not make
    assert api.post(task_url(task, "undo")).status_code == 400  # the If after it already ran
    Task.objects.filter(pk=send.pk).update(status="ERROR", error="broker down")
    assert "retry" in api.get(task_url(send)).json()["actions"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(task_url(send, "retry"))
    assert response.status_code == 200, response.content
    assert Task.objects.get(pk=send.pk).status == "DONE"
    assert HelloWorldFlow.process_cls.objects.get(pk=process["id"]).status == "DONE"
    assert api.post(task_url(send, "retry")).status_code == 409  # done meanwhile


def test_undo_reopens_a_task_whose_successor_waits(user_factory, api_for):
    clerk = user_factory("clerk", "orders.can_start_orderprocess")
    manager = user_factory("boss", superuser=True)
    body = {"customer": "Ada", "address": "1 Loop Rd", "express": True, "prepaid": True,
            "lines": [{"product": "Widget", "quantity": 1}]}
    order_id = api_for(clerk).post("/api/flows/order/start/start/", body, format="json").json()["id"]
    api = api_for(manager)
    package = Task.objects.get(process_id=order_id, flow_task=OrderFlow.package)
    api.post(task_url(package, "assign"))
    line = OrderLine.objects.get(order_id=order_id)
    body = {"weight_kg": "1", "lines": [{"id": line.pk, "packed": True}]}
    done = api.post(task_url(package, "complete"), body, format="json")
    assert done.status_code == 200, done.content
    assert "undo" in api.get(task_url(package)).json()["actions"]
    response = api.post(task_url(package, "undo"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ASSIGNED"


def test_process_list_filters(people, api_for):
    starter = api_for(people.starter)
    first, second = start_hello(starter, "one"), start_hello(starter, "two")
    manager = api_for(people.manager)
    manager.post(first["url"] + "cancel/")
    listed = starter.get("/api/processes/").json()
    assert [p["id"] for p in listed["results"]] == [second["id"], first["id"]]
    assert [p["id"] for p in starter.get("/api/processes/?status=CANCELED").json()["results"]] == [first["id"]]
    mine = starter.get("/api/processes/?flow=helloworld&mine=true").json()["results"]
    assert [p["id"] for p in mine] == [second["id"], first["id"]]
    assert api_for(people.approver).get("/api/processes/?mine=true").json()["results"] == []
    created = Process.objects.get(pk=second["id"]).created.isoformat()
    after = starter.get("/api/processes/", {"created_after": created}).json()["results"]
    assert [p["id"] for p in after] == [second["id"]]
    before = starter.get("/api/processes/", {"created_before": created}).json()["results"]
    assert [p["id"] for p in before] == [first["id"]]
    assert starter.get("/api/processes/?status=NOPE").status_code == 400
    assert starter.get("/api/processes/?flow=nope").status_code == 400
    assert starter.get("/api/processes/?created_after=yesterday").status_code == 400


def test_lists_are_cursor_paginated(people, api_for, settings):
    settings.VIEWFLOW = {"PAGE_SIZE": 2}
    starter = api_for(people.starter)
    ids = [start_hello(starter, f"p{i}")["id"] for i in range(5)]
    seen, url = [], "/api/tasks/queue/"
    approver = api_for(people.approver)
    while url:
        page = approver.get(url).json()
        assert len(page["results"]) <= 2
        seen += [task["process"] for task in page["results"]]
        url = page["next"]
    assert seen == list(reversed(ids))
    assert "count" not in page  # nothing counts the list
    page = approver.get("/api/tasks/queue/?page_size=4").json()
    assert len(page["results"]) == 4


def test_flow_detail_lists_the_nodes_and_the_starts(people, api_for):
    flow = api_for(people.starter).get("/api/flows/helloworld/").json()
    assert flow["label"] == "helloworld"
    assert [node["name"] for node in flow["nodes"]] == ["start", "approve", "check_approve", "send", "end"]
    assert flow["start_nodes"] == [{"name": "start", "title": "Start", "url": START}]
    assert api_for(people.approver).get("/api/flows/helloworld/").json()["start_nodes"] == []


def test_session_and_basic_authentication(people, client):
    client.force_login(people.starter)
    assert client.get("/api/flows/").status_code == 200
    assert client.post(START, {"text": "by session"}, content_type="application/json").status_code == 201
    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION="Basic " + __import__("base64").b64encode(b"starter:starter").decode())
    assert basic.get("/api/tasks/inbox/").status_code == 200


def test_authentication_classes_are_a_setting(people, api_for, settings):
    settings.VIEWFLOW = {"REST_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"]}
    response = api_for(people.starter).get("/api/flows/")
    assert response.status_code == 401  # the token is not read any more
    assert response["WWW-Authenticate"] == 'Session realm="api"'


def test_the_inbox_costs_the_same_whatever_it_holds(people, api_for, django_assert_max_num_queries):
    approver = api_for(people.approver)
    starter = api_for(people.starter)
    for i in range(3):
        task = approve_task(start_hello(starter, f"p{i}")["id"])
        approver.post(task_url(task, "assign"))
    Token.objects.get(user=people.approver)  # the token row exists: the count below is of a steady request
    # token + user, page; and the user's permissions: a flow of the test project shows its processes to
    # participants only (tests/testapp/visibility_flows.py), which asks who manages it and what one may claim
    with django_assert_max_num_queries(4) as queries:
        page = approver.get("/api/tasks/inbox/").json()
    assert len(page["results"]) == 3
    assert 2 <= len(queries) <= 4


def test_permissions_granted_through_a_group(user_factory, api_for):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="approvers")
    group.permissions.add(Permission.objects.get(codename="can_approve_helloworldprocess"))
    member = user_factory("member")
    member.groups.add(group)
    starter = user_factory("s2", "helloworld.can_start_helloworldprocess")
    start_hello(api_for(starter))
    assert len(api_for(member).get("/api/tasks/queue/").json()["results"]) == 1


def test_the_flows_policy_decides_what_a_user_sees(user_factory, api_for):
    """PrivateFlow's policy shows each user only the processes named after them: lists, pages and queues obey."""
    perms = ("testapp.can_start_sampleprocess", "testapp.can_review_sampleprocess")
    ann, bob = api_for(user_factory("ann", *perms)), api_for(user_factory("bob", *perms))
    mine = ann.post("/api/flows/private/start/start/", {"text": "ann"}, format="json").json()
    theirs = ann.post("/api/flows/private/start/start/", {"text": "bob"}, format="json").json()
    assert [p["id"] for p in ann.get("/api/processes/?flow=private").json()["results"]] == [mine["id"]]
    assert [p["id"] for p in bob.get("/api/processes/").json()["results"]] == [theirs["id"]]
    assert ann.get(theirs["url"]).status_code == 404
    assert ann.get(theirs["history"]).status_code == 404
    assert [t["process"] for t in bob.get("/api/tasks/queue/").json()["results"]] == [theirs["id"]]
    assert [t["process"] for t in bob.get("/api/tasks/queue/?flow=private").json()["results"]] == [theirs["id"]]
    hidden = Task.objects.get(process_id=mine["id"], flow_task=PrivateFlow.review)
    assert bob.get(task_url(hidden)).status_code == 404
    assert bob.post(task_url(hidden, "assign")).status_code == 404
    assert bob.post(task_url(hidden, "complete"), {"approved": True}, format="json").status_code == 404
