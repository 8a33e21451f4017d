"""One waiting-task base: ``resume(task, **payload)`` under the lock serves Function, Signal, Job and custom nodes."""

import pytest
from django.core.exceptions import PermissionDenied

from tests.testapp import signals
from tests.testapp.flows import AvailableFlow, CodeStartFlow, FunctionFlow, ReplyFlow, SignalFlow
from tests.utils import fresh, statuses, task_of
from viewflow import operations
from viewflow.contrib.celery import Job
from viewflow.exceptions import FlowConflict, FlowRuntimeError
from viewflow.flow import WaitingTask
from viewflow.flow.func import Function
from viewflow.flow.signal import Signal
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db


def test_function_signal_and_job_are_waiting_tasks():
    for node_class in (Function, Signal, Job):
        assert issubclass(node_class, WaitingTask)
    assert Job.waiting_statuses == (TaskStatus.SCHEDULED,)


def test_a_custom_waiting_node_resumes_with_its_payload_once():
    process = ReplyFlow.start.run(text="asked")
    task = task_of(process, ReplyFlow.reply)
    assert task.status == TaskStatus.NEW
    resumed = operations.resume(task, text="yes")
    assert resumed.status == TaskStatus.DONE
    process = fresh(process)
    assert process.text == "yes" and process.status == ProcessStatus.DONE
    # a second reply arrives late: the task moved on, nothing is written, nothing raised
    assert operations.resume(task, text="no") is None
    assert fresh(process).text == "yes"


def test_a_failing_custom_node_rolls_back_and_records_the_error():
    process = ReplyFlow.start.run(text="asked")
    task = task_of(process, ReplyFlow.reply)
    failed = operations.resume(task, text="boom")
    assert failed.status == TaskStatus.ERROR and "an unreadable reply" in failed.error
    process = fresh(process)
    assert process.text == "asked" and process.status == ProcessStatus.ERROR
    # a task in ERROR no longer waits: a late reply does nothing
    assert operations.resume(task, text="late") is None
    assert statuses(process, ReplyFlow.reply) == [TaskStatus.ERROR]
    # retried, it waits again; the next reply moves the flow on
    assert operations.retry(task).status == TaskStatus.NEW and fresh(process).status == ProcessStatus.STARTED
    assert operations.resume(task, text="fine").status == TaskStatus.DONE
    assert fresh(process).status == ProcessStatus.DONE


def test_a_canceled_waiting_task_ignores_the_resume():
    process = ReplyFlow.start.run(text="asked")
    task = operations.cancel(task_of(process, ReplyFlow.reply))
    assert task.status == TaskStatus.CANCELED
    assert operations.resume(task, text="yes") is None
    assert fresh(process).text == "asked"


def test_a_function_resumed_twice_is_a_conflict_naming_the_status():
    process = FunctionFlow.start.run("order")
    task = task_of(process, FunctionFlow.pay)
    assert operations.resume(task, process.pk, amount=7).status == TaskStatus.DONE
    with pytest.raises(FlowConflict, match=rf"Task #{task.pk} \(pay\) is no longer waiting: its status is Done"):
        operations.resume(task, process.pk, amount=8)
    assert fresh(process).count == 7


def test_a_signal_for_a_task_that_moved_on_is_ignored():
    process = signals.order_placed.send(sender=None, text="x")[-1][1]
    task = task_of(process, SignalFlow.paid)
    operations.cancel(task)
    assert SignalFlow.paid.on_signal(None, process_pk=process.pk, amount=3) is None  # no waiting task found
    assert SignalFlow.paid.resume(task, sender=None, process_pk=process.pk, amount=3) is None
    assert fresh(process).count == 0


def test_resume_refuses_another_nodes_task_and_a_task_that_does_not_wait():
    process = CodeStartFlow.start.run(text="x")
    approve = task_of(process, CodeStartFlow.approve)
    with pytest.raises(FlowRuntimeError, match="cannot resume a task of"):
        FunctionFlow.pay.resume(approve)
    with pytest.raises(FlowRuntimeError, match=r"\(approve\) cannot be resumed: it does not wait"):
        operations.resume(approve)


def test_start_by_a_user_checks_who_may_start(user_factory):
    alice, bob = user_factory("alice"), user_factory("bob")
    process = operations.start(AvailableFlow.by_callable, by=alice, text="from alice")
    assert fresh(process).text == "from alice" and fresh(process).status == ProcessStatus.DONE
    with pytest.raises(PermissionDenied):
        operations.start(AvailableFlow.by_callable, by=bob, text="from bob")
    with pytest.raises(PermissionDenied):  # a StartFunction is started by code only
        operations.start(CodeStartFlow.start, by=alice, text="x")
    with pytest.raises(TypeError, match="has no field nonsense"):
        operations.start(AvailableFlow.by_callable, nonsense=1)
    process = operations.start(CodeStartFlow.start, text="by code")
    assert fresh(process).text == "by code"


def test_complete_saves_the_persons_data_in_the_step(user_factory):
    clerk = user_factory("clerk", "testapp.can_approve_sampleprocess")
    other = user_factory("other", "testapp.can_approve_sampleprocess")
    process = CodeStartFlow.start.run(text="x")
    task = operations.claim(task_of(process, CodeStartFlow.approve), clerk)

    def save(activation):
        activation.process.text = "approved by clerk"
        activation.process.save(update_fields=["text"])

    with pytest.raises(PermissionDenied):  # checked before anything is saved
        operations.complete(task, by=other, save=save)
    assert fresh(process).text == "x"

    def broken(activation):
        save(activation)
        raise ValueError("the data could not be stored")

    with pytest.raises(ValueError):
        operations.complete(task, by=clerk, save=broken)
    assert fresh(process).text == "x" and statuses(process, CodeStartFlow.approve) == [TaskStatus.ASSIGNED]
    done = operations.complete(task, by=clerk, save=save)
    assert done.status == TaskStatus.DONE
    process = fresh(process)
    assert process.text == "approved by clerk" and process.status == ProcessStatus.DONE
    with pytest.raises(FlowRuntimeError, match="cannot be completed: its status is Done"):
        operations.complete(task, by=clerk, save=save)
