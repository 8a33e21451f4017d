"""The admin for processes and tasks, used through its pages: filters, inlines, actions."""

import pytest

from helloworld.flows import HelloWorldFlow
from tests.testapp.flows import AssignFlow, CodeStartFlow
from tests.testapp.ops_flows import OpsReviewFlow
from viewflow.fields import flow_path, node_path
from viewflow.models import Process, Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db  # no job or on-commit effect is needed: rolled back, fast


@pytest.fixture
def admin_client(user_factory, client_for):
    return client_for(user_factory("boss", superuser=True))


def review_task(process):
    return process.task_set.get(flow_task=OpsReviewFlow.review)


def failed_process(user):
    """A process whose handler failed after the review was done."""
    process = OpsReviewFlow.start.run(text="fail")
    task = review_task(process)
    with task.activation() as activation:
        activation.assign(user)
        activation.done()
    process.refresh_from_db()
    assert process.status == ProcessStatus.ERROR
    return process


def post_action(client, model, action, objects, **extra):
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(f"/admin/viewflow/{model}/", data, follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_process_list_filters_by_flow_and_status_and_searches(admin_client):
    code = CodeStartFlow.start.run(text="a")
    review = OpsReviewFlow.start.run(text="b")
    Process.objects.filter(pk=review.pk).update(status=ProcessStatus.ERROR)

    page = admin_client.get("/admin/viewflow/process/")
    assert page.status_code == 200
    assert {p.pk for p in page.context["cl"].result_list} == {code.pk, review.pk}
    html = page.content.decode()
    assert OpsReviewFlow._meta.title in html and "?flow=" in html

    by_flow = admin_client.get("/admin/viewflow/process/", {"flow": flow_path(CodeStartFlow)})
    assert [p.pk for p in by_flow.context["cl"].result_list] == [code.pk]
    by_status = admin_client.get("/admin/viewflow/process/", {"status__exact": "ERROR"})
    assert [p.pk for p in by_status.context["cl"].result_list] == [review.pk]
    by_id = admin_client.get("/admin/viewflow/process/", {"q": f"#{review.pk}"})
    assert [p.pk for p in by_id.context["cl"].result_list] == [review.pk]
    by_path = admin_client.get("/admin/viewflow/process/", {"q": "OpsReview"})
    assert [p.pk for p in by_path.context["cl"].result_list] == [review.pk]


def test_task_list_filters_by_flow_node_and_status(admin_client):
    code = CodeStartFlow.start.run()
    review = OpsReviewFlow.start.run()

    by_flow = admin_client.get("/admin/viewflow/task/", {"flow": flow_path(OpsReviewFlow)})
    assert by_flow.status_code == 200
    assert {t.pk for t in by_flow.context["cl"].result_list} == set(review.task_set.values_list("pk", flat=True))
    # with a flow chosen, the node filter offers that flow's nodes only
    html = by_flow.content.decode()
    assert f"node={node_path(OpsReviewFlow.review)}" in html and node_path(CodeStartFlow.approve) not in html

    by_node = admin_client.get("/admin/viewflow/task/", {"node": node_path(CodeStartFlow.approve)})
    assert [t.pk for t in by_node.context["cl"].result_list] == [code.task_set.get(flow_task=CodeStartFlow.approve).pk]
    by_status = admin_client.get("/admin/viewflow/task/", {"status__exact": "NEW"})
    assert {t.flow_task for t in by_status.context["cl"].result_list} == {CodeStartFlow.approve, OpsReviewFlow.review}
    by_process = admin_client.get("/admin/viewflow/task/", {"q": str(code.pk)})
    assert {t.process_id for t in by_process.context["cl"].result_list} == {code.pk}


def test_task_search_and_filters_match_exactly(admin_client, user_factory):
    code = CodeStartFlow.start.run()
    review = OpsReviewFlow.start.run()
    approve = code.task_set.get(flow_task=CodeStartFlow.approve)
    bob = user_factory("bob")
    Task.objects.filter(pk=approve.pk).update(owner=bob, external_task_id="c0ffee-1")

    def found(**params):
        page = admin_client.get("/admin/viewflow/task/", params)
        assert page.status_code == 200
        return {task.pk for task in page.context["cl"].result_list}

    assert found(q=f"#{approve.pk}") >= {approve.pk}  # a number is a task key or a process key
    assert found(q=str(review.pk)) >= set(review.task_set.values_list("pk", flat=True))
    assert found(q="bob") == {approve.pk}
    assert found(q="c0ffee-1") == {approve.pk}
    assert found(q="c0ffee") == set()  # exact, so an index answers it
    assert found(q="nobody-at-all") == set()
    human = {t.pk for t in Task.objects.filter(flow_task_type=approve.flow_task_type)}
    assert found(type=approve.flow_task_type) == human
    html = admin_client.get("/admin/viewflow/task/").content.decode()
    assert f"type={approve.flow_task_type}" in html and "created__gte=" in html


def test_process_page_shows_tasks_read_only(admin_client):
    process = OpsReviewFlow.start.run(text="x")
    page = admin_client.get(f"/admin/viewflow/process/{process.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Review" in html and "Start" in html  # both tasks in the inline
    assert flow_path(OpsReviewFlow) in html
    # nothing of the engine is an input: no status select, no task forms to add or delete
    for name in ('name="status"', 'name="flow_class"', 'name="task_set-0-status"', "task_set-0-DELETE"):
        assert name not in html
    assert admin_client.get("/admin/viewflow/process/add/").status_code == 403
    assert admin_client.get("/admin/viewflow/task/add/").status_code == 403


def test_task_change_form_saves_comments_but_never_engine_fields(admin_client, user_factory):
    process = OpsReviewFlow.start.run(text="x")
    task = review_task(process)
    page = admin_client.get(f"/admin/viewflow/task/{task.pk}/change/")
    html = page.content.decode()
    assert 'name="comments"' in html
    for name in ("status", "owner", "token", "flow_task", "process", "error"):
        assert f'name="{name}"' not in html
    # meanwhile somebody claims the task: saving the stale form must not undo that
    user = user_factory("reviewer", "testapp.can_review_sampleprocess")
    with task.activation() as activation:
        activation.assign(user)
    response = admin_client.post(
        f"/admin/viewflow/task/{task.pk}/change/", {"comments": "checked by hand", "status": "DONE"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.comments == "checked by hand"
    assert task.status == TaskStatus.ASSIGNED and task.owner == user


def test_cancel_process_action_goes_through_the_engine(admin_client):
    active = OpsReviewFlow.start.run(text="x")
    finished = CodeStartFlow.start.run()
    Process.objects.filter(pk=finished.pk).update(status=ProcessStatus.DONE)

    response = post_action(admin_client, "process", "cancel_processes", [active, finished])
    assert response.status_code == 200
    notes = messages_of(response)
    assert "1 process canceled." in notes
    assert any("cannot be canceled" in note and "its status is Done" in note for note in notes)
    active.refresh_from_db()
    assert active.status == ProcessStatus.CANCELED and active.finished is not None
    assert review_task(active).status == TaskStatus.CANCELED
    finished.refresh_from_db()
    assert finished.status == ProcessStatus.DONE


def test_staff_without_task_management_may_not_cancel(user_factory, client_for):
    clerk = user_factory("clerk", "viewflow.view_process", "viewflow.change_process")
    clerk.is_staff = True
    clerk.save()
    process = OpsReviewFlow.start.run(text="x")
    response = post_action(client_for(clerk), "process", "cancel_processes", [process])
    assert any("may not cancel" in note for note in messages_of(response))
    process.refresh_from_db()
    assert process.status == ProcessStatus.STARTED


def test_retry_action_reruns_errored_tasks_and_skips_others(admin_client, user_factory):
    user = user_factory("reviewer", "testapp.can_review_sampleprocess")
    process = failed_process(user)
    failed = process.task_set.get(flow_task=OpsReviewFlow.process_it)
    assert failed.status == TaskStatus.ERROR and "cannot process a failing text" in failed.error

    # still failing: the retry fails again, the task stays in ERROR with a fresh traceback
    response = post_action(admin_client, "task", "retry_tasks", [failed, review_task(process)])
    notes = messages_of(response)
    assert "1 task skipped: not in error." in notes and "1 task retried." in notes
    failed.refresh_from_db()
    assert failed.status == TaskStatus.ERROR

    SampleProcess = OpsReviewFlow.process_cls
    SampleProcess.objects.filter(pk=process.pk).update(text="fixed")
    post_action(admin_client, "task", "retry_tasks", [failed])
    failed.refresh_from_db()
    process.refresh_from_db()
    assert failed.status == TaskStatus.DONE and failed.error == ""
    assert process.status == ProcessStatus.DONE
    assert process.task_set.filter(flow_task=OpsReviewFlow.end).count() == 1


def test_reassign_action_asks_for_the_user_then_reassigns(admin_client, user_factory):
    first = user_factory("first", "testapp.can_review_sampleprocess")
    second = user_factory("second", "testapp.can_review_sampleprocess")
    user_factory("outsider")
    claimed, waiting = OpsReviewFlow.start.run(), OpsReviewFlow.start.run()
    with review_task(claimed).activation() as activation:
        activation.assign(first)
    tasks = [review_task(claimed), review_task(waiting)]

    page = post_action(admin_client, "task", "reassign_tasks", tasks)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Reassign tasks" in html and 'name="apply"' in html
    choices = {str(user) for user in page.context["form"].fields["user"].queryset}
    assert {"first", "second", "boss"} <= choices and "outsider" not in choices
    for task in tasks:
        assert f'value="{task.pk}"' in html

    done = post_action(admin_client, "task", "reassign_tasks", tasks, apply="1", user=second.pk)
    assert "2 tasks reassigned to second." in messages_of(done)
    for task in tasks:
        task.refresh_from_db()
        assert task.status == TaskStatus.ASSIGNED and task.owner == second


def test_reassign_page_costs_the_same_queries_for_2_or_20_tasks(admin_client):
    """The page names each task's process: read with the tasks, not one query per task."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def page_queries(tasks):
        with CaptureQueriesContext(connection) as queries:
            page = post_action(admin_client, "task", "reassign_tasks", tasks)
        assert page.status_code == 200 and 'name="apply"' in page.content.decode()
        for task in tasks:
            assert f"{task.process}" in page.content.decode()
        return len(queries)

    def waiting_tasks(count):
        return [review_task(OpsReviewFlow.start.run()) for _ in range(count)]

    assert page_queries(waiting_tasks(2)) == page_queries(waiting_tasks(20))


def test_reassign_action_refuses_finished_tasks(admin_client):
    process = OpsReviewFlow.start.run()
    start = process.task_set.get(flow_task=OpsReviewFlow.start)
    response = post_action(admin_client, "task", "reassign_tasks", [start])
    assert "Only new or assigned tasks can be reassigned." in messages_of(response)


def test_cancel_task_action(admin_client):
    process = OpsReviewFlow.start.run()
    task = review_task(process)
    post_action(admin_client, "task", "cancel_tasks", [task])
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELED


@pytest.mark.parametrize(
    "action, why",
    [("cancel_tasks", "already finished"), ("unassign_tasks", "not assigned"), ("undo_tasks", "not done")],
)
def test_task_actions_say_which_tasks_they_skipped(admin_client, action, why):
    process = OpsReviewFlow.start.run()
    start = process.task_set.get(flow_task=OpsReviewFlow.start)  # DONE
    review = review_task(process)  # NEW
    chosen = {"cancel_tasks": start, "unassign_tasks": review, "undo_tasks": review}[action]
    notes = messages_of(post_action(admin_client, "task", action, [chosen]))
    assert f"1 task skipped: {why}." in notes
    assert chosen.status == Task.objects.get(pk=chosen.pk).status


def test_subclass_process_admin_edits_data_fields_only(admin_client):
    with HelloWorldFlow.start.start() as activation:
        activation.process.text = "hello"
        process = activation.done()
    url = f"/admin/helloworld/helloworldprocess/{process.pk}/change/"
    html = admin_client.get(url).content.decode()
    assert 'name="text"' in html and 'name="approved"' in html
    assert 'name="status"' not in html and 'name="flow_class"' not in html
    assert "Approve" in html  # the task inline
    # the process moves on meanwhile; saving the stale form changes the text only
    Process.objects.filter(pk=process.pk).update(status=ProcessStatus.ERROR)
    tasks = process.task_set.order_by("created", "pk")
    data = {"text": "changed", "status": "DONE", "flow_class": "x.y"}
    data.update({"task_set-TOTAL_FORMS": len(tasks), "task_set-INITIAL_FORMS": len(tasks)})
    data.update({"task_set-MIN_NUM_FORMS": 0, "task_set-MAX_NUM_FORMS": 0})
    for n, task in enumerate(tasks):
        data.update({f"task_set-{n}-id": task.pk, f"task_set-{n}-process": process.pk, f"task_set-{n}-status": "DONE"})
    response = admin_client.post(url, data)
    assert response.status_code == 302
    process.refresh_from_db()
    assert process.text == "changed" and process.status == ProcessStatus.ERROR
    assert process.flow_class is HelloWorldFlow
    assert list(process.task_set.values_list("status", flat=True).order_by("pk")) == ["DONE", "NEW"]


def test_lists_cost_the_same_queries_for_few_or_many_rows(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url).status_code == 200
        return len(queries)

    for _ in range(2):
        OpsReviewFlow.start.run()
    few = (count("/admin/viewflow/process/"), count("/admin/viewflow/task/"))
    for _ in range(8):
        OpsReviewFlow.start.run()
    many = (count("/admin/viewflow/process/"), count("/admin/viewflow/task/"))
    assert few == many  # no query per row


def test_the_unassign_action_keeps_a_task_that_has_no_queue(admin_client, django_user_model):
    fixed = django_user_model.objects.create_user("fixed", pk=4242)
    task = AssignFlow.start.run("fixed").task_set.get(flow_task=AssignFlow.to_user)
    response = post_action(admin_client, "task", "unassign_tasks", [task])
    task.refresh_from_db()
    assert task.status == TaskStatus.ASSIGNED and task.owner == fixed
    assert any("no queue could take it back" in message for message in messages_of(response))


def test_unassign_and_undo_are_admin_actions_too(admin_client, user_factory):
    """DESIGN §4: every task operation is also an admin action; unassign and undo were missing."""
    clerk = user_factory("clerk", "testapp.can_review_sampleprocess")
    process = OpsReviewFlow.start.run(text="ok")
    task = review_task(process)
    with task.activation() as activation:
        activation.assign(clerk)
    post_action(admin_client, "task", "unassign_tasks", [task])
    task.refresh_from_db()
    assert task.status == TaskStatus.NEW and task.owner is None

    # undo: refused with the engine's reason once the next node ran, done otherwise
    with task.activation() as activation:
        activation.assign(clerk)
        activation.done()
    response = post_action(admin_client, "task", "undo_tasks", [task])
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert any("cannot be undone" in message for message in messages_of(response))
