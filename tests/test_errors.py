"""An automated node that raises: the step that reached it is kept, its task is ERROR, retry goes on."""

import re

import pytest

from tests.testapp.flows import AssignFlow, BrokenFlow, FirstWinsBrokenFlow, RollbackFlow
from tests.testapp.models import SampleProcess
from tests.utils import do_task, fresh, statuses, task_of
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db


def edited(text, user):
    """A BrokenFlow process whose person's task was done with ``text``."""
    with BrokenFlow.start.start() as activation:
        activation.process.text = "draft"
        process = activation.done()
    edit = task_of(process, BrokenFlow.edit)
    with edit.activation() as activation:
        activation.assign(user)
    with edit.activation() as activation:
        activation.process.text = text
        activation.process.save(update_fields=["text"])
        activation.done()
    return fresh(process)


def retry(task, by=None):
    with task.activation() as activation:
        activation.retry(by=by)
    task.refresh_from_db()
    return task


@pytest.fixture
def boss(user_factory):
    return user_factory("boss", superuser=True)


def test_person_form_is_kept_when_the_next_handler_fails(boss, client_for):
    client = client_for(boss)
    response = client.post("/flows/broken/start/", {"text": "draft"})
    assert response.status_code == 302
    process = SampleProcess.objects.get(text="draft")
    edit = task_of(process, BrokenFlow.edit)
    assert client.post(f"/flows/broken/{process.pk}/edit/{edit.pk}/assign/").status_code == 302

    response = client.post(f"/flows/broken/{process.pk}/edit/{edit.pk}/", {"text": "handler"})
    assert response.status_code == 302

    process = fresh(process)
    assert process.text == "handler"  # what the person typed is saved
    assert process.status == ProcessStatus.ERROR
    assert statuses(process, BrokenFlow.edit) == [TaskStatus.DONE]
    handler = task_of(process, BrokenFlow.handler)
    assert handler.status == TaskStatus.ERROR
    assert "Traceback" in handler.error and "RuntimeError: broken handler" in handler.error
    assert list(handler.previous.all()) == [edit]
    assert process.count == 0  # the handler's own writes were rolled back with its savepoint

    # the process page shows the error
    page = client.get(f"/flows/broken/{process.pk}/").content.decode()
    assert "Error" in page

    # retrying before the cause is fixed fails again and keeps everything
    assert client.post(f"/flows/broken/{process.pk}/handler/{handler.pk}/retry/").status_code == 302
    handler.refresh_from_db()
    assert handler.status == TaskStatus.ERROR and fresh(process).status == ProcessStatus.ERROR

    process.text = "fixed"
    process.save()
    response = client.post(f"/flows/broken/{process.pk}/handler/{handler.pk}/retry/")
    assert response.status_code == 302
    process = fresh(process)
    assert process.status == ProcessStatus.DONE
    assert process.count == 1 and sorted(process.items) == ["a", "b"]
    handler.refresh_from_db()
    assert handler.status == TaskStatus.DONE and handler.error == ""


@pytest.mark.parametrize(
    "broken, done_before",
    [
        ("handler", ["start", "edit"]),
        ("switch", ["start", "edit", "handler"]),
        ("split", ["start", "edit", "handler", "switch"]),
        ("b", ["start", "edit", "handler", "switch", "split", "a"]),
        ("if", ["start", "edit", "handler", "switch", "split", "a", "b", "join"]),
    ],
)
def test_each_automated_node_fails_alone_and_retry_continues(boss, broken, done_before):
    node = getattr(BrokenFlow, "check" if broken == "if" else broken)
    process = edited(broken, boss)
    assert process.status == ProcessStatus.ERROR
    failed = task_of(process, node)
    assert failed.status == TaskStatus.ERROR
    assert re.search(rf"RuntimeError: broken {broken}\b", failed.error)
    for name in done_before:
        assert statuses(process, getattr(BrokenFlow, name)) == [TaskStatus.DONE], name
    assert statuses(process, BrokenFlow.end) == []

    process.text = "fixed"
    process.save()
    retry(failed, by=boss)
    process = fresh(process)
    assert process.status == ProcessStatus.DONE
    assert statuses(process, BrokenFlow.join) == [TaskStatus.DONE]  # fired exactly once
    assert statuses(process, BrokenFlow.end) == [TaskStatus.DONE]
    assert failed.__class__.objects.get(pk=failed.pk).status == TaskStatus.DONE


def test_a_failed_branch_blocks_its_join_until_retried(boss):
    process = edited("b", boss)
    assert statuses(process, BrokenFlow.a) == [TaskStatus.DONE]
    assert statuses(process, BrokenFlow.join) == [TaskStatus.STARTED]  # a arrived, b is in ERROR


def test_cancelling_a_failed_branch_lets_the_join_fire(boss):
    process = edited("b", boss)
    with task_of(process, BrokenFlow.b).activation() as activation:
        activation.cancel(by=boss)
    process = fresh(process)
    assert statuses(process, BrokenFlow.join) == [TaskStatus.DONE]
    assert statuses(process, BrokenFlow.b) == [TaskStatus.CANCELED]
    assert process.status == ProcessStatus.DONE  # no task in ERROR is left


def test_failed_node_writes_are_undone_in_the_database_and_in_memory():
    process = fresh(RollbackFlow.start.run(text="original"))
    assert process.text == "original" and process.count == 1
    assert process.status == ProcessStatus.ERROR
    assert statuses(process, RollbackFlow.spoil) == [TaskStatus.ERROR]
    assert statuses(process, RollbackFlow.join) == [TaskStatus.STARTED]


def test_join_any_canceling_a_failed_branch_clears_the_process_error(boss):
    process = FirstWinsBrokenFlow.start.run()
    assert fresh(process).status == ProcessStatus.ERROR
    do_task(task_of(process, FirstWinsBrokenFlow.review), boss)
    process = fresh(process)
    assert statuses(process, FirstWinsBrokenFlow.broken) == [TaskStatus.CANCELED]
    assert process.status == ProcessStatus.STARTED  # no task in ERROR is left
    assert statuses(process, FirstWinsBrokenFlow.wait) == [TaskStatus.NEW]


def test_assign_callable_that_raises_leaves_the_task_in_error_until_retried(django_user_model, user_factory):
    django_user_model.objects.create_user("fixed", pk=4242)
    process = AssignFlow.start.run("ghost")  # names a user who does not exist yet
    do_task(task_of(process, AssignFlow.to_user))  # the person's step is kept...
    process = fresh(process)
    assert statuses(process, AssignFlow.to_user) == [TaskStatus.DONE]
    to_named = task_of(process, AssignFlow.to_named)
    assert to_named.status == TaskStatus.ERROR and "DoesNotExist" in to_named.error  # ...the assignment failed
    assert process.status == ProcessStatus.ERROR

    ghost = user_factory("ghost")
    retry(to_named)
    assert to_named.status == TaskStatus.ASSIGNED and to_named.owner == ghost and to_named.error == ""
    assert fresh(process).status == ProcessStatus.STARTED
