"""The engine used directly, without the web: start from code, assign, complete, errors."""

import pytest
from django.core.exceptions import PermissionDenied

from helloworld.flows import HelloWorldFlow
from tests.testapp.flows import CodeStartFlow
from viewflow.exceptions import FlowRuntimeError
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_start_function_runs_and_returns_process():
    process = CodeStartFlow.start.run(text="from code")
    assert process.pk and process.text == "from code"
    assert process.status == ProcessStatus.STARTED
    assert process.flow_class is CodeStartFlow
    task = process.task_set.get(flow_task=CodeStartFlow.approve)
    assert task.status == TaskStatus.NEW
    assert task.owner_permission == "testapp.can_approve_sampleprocess"


def test_human_task_lifecycle_through_activations(user_factory):
    user = user_factory("u", "testapp.can_approve_sampleprocess")
    process = CodeStartFlow.start.run()
    task = process.task_set.get(flow_task=CodeStartFlow.approve)
    with task.activation() as activation:
        activation.assign(user, by=user)
    task.refresh_from_db()
    assert task.status == TaskStatus.ASSIGNED and task.owner == user
    with pytest.raises(FlowRuntimeError, match="its status is Assigned"):
        with task.activation() as activation:
            activation.assign(user)
    with task.activation() as activation:
        activation.done(by=user)
    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE
    with pytest.raises(FlowRuntimeError, match="its status is Done"):
        with task.activation() as activation:
            activation.done()


def test_assign_by_user_without_permission_is_denied(user_factory):
    user = user_factory("nobody")
    process = CodeStartFlow.start.run()
    task = process.task_set.get(flow_task=CodeStartFlow.approve)
    with pytest.raises(PermissionDenied):
        with task.activation() as activation:
            activation.assign(user, by=user)
    task.refresh_from_db()
    assert task.status == TaskStatus.NEW


def test_stale_writer_fails_cleanly(user_factory):
    user = user_factory("u", "testapp.can_approve_sampleprocess")
    process = CodeStartFlow.start.run()
    task = process.task_set.get(flow_task=CodeStartFlow.approve)
    stale = type(task).objects.get(pk=task.pk)
    with task.activation() as activation:
        activation.assign(user)
    from viewflow.activation import HumanActivation, run_step

    with pytest.raises(FlowRuntimeError, match="changed by someone else"):
        with run_step(CodeStartFlow, process.pk) as step:
            stale.process = step.process
            HumanActivation(step, stale).assign(user)


def test_failing_job_leaves_task_in_error_and_retry_finishes(monkeypatch, user_factory):
    user = user_factory("u", "helloworld.can_approve_helloworldprocess")
    with HelloWorldFlow.start.start() as activation:
        activation.process.text = "hi"
        process = activation.done()
    task = process.task_set.get(flow_task=HelloWorldFlow.approve)

    import helloworld.tasks

    calls = []

    def broken(activation):
        calls.append(activation.task.pk)
        raise RuntimeError("the world is closed")

    monkeypatch.setattr(helloworld.tasks.send_hello_world_request, "run", _job_body(broken))
    with task.activation() as activation:
        activation.assign(user)
        activation.process.approved = True
        activation.process.save()
        activation.done()
    process.refresh_from_db()
    job = process.task_set.get(flow_task=HelloWorldFlow.send)
    assert job.status == TaskStatus.ERROR and "the world is closed" in job.error
    assert process.status == ProcessStatus.ERROR
    # the approval was kept
    assert process.approved and process.task_set.get(flow_task=HelloWorldFlow.approve).status == TaskStatus.DONE

    monkeypatch.undo()
    with job.activation() as activation:
        activation.retry()
    process.refresh_from_db()
    job.refresh_from_db()
    assert job.status == TaskStatus.DONE and job.error == ""
    assert process.status == ProcessStatus.DONE
    assert len(calls) == 1


def _job_body(func):
    from viewflow.flow import flow_job

    return flow_job(func)
