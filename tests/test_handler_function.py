"""Handler, Function and Signal nodes, and the start nodes run from code or signals."""

import pytest

from tests.testapp import signals
from tests.testapp.flows import FunctionFlow, HandlerFlow, SignalFlow
from tests.utils import fresh, statuses, task_of
from viewflow.exceptions import FlowRuntimeError
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db


def test_handler_function_then_flow_method_run_in_the_step():
    process = fresh(HandlerFlow.start.run("hello", count=1))
    # set_count() made it 42, then the flow's method doubled it
    assert process.text == "hello" and process.count == 84
    assert process.status == ProcessStatus.DONE
    assert HandlerFlow.by_method.func.__self__ is HandlerFlow.instance


def test_fields_a_handler_sets_on_its_task_are_saved_with_the_step(monkeypatch):
    from tests.testapp.flows import set_count

    def noting(activation):  # the task is written with the step's other new tasks, after the code
        assert activation.task.pk is None
        activation.task.comments = "counted"
        activation.task.data = {"by": "handler"}
        set_count(activation)

    monkeypatch.setattr(HandlerFlow.by_function, "func", noting)
    process = fresh(HandlerFlow.start.run("hello", count=1))
    task = task_of(process, HandlerFlow.by_function)
    assert (task.status, task.comments, task.data) == (TaskStatus.DONE, "counted", {"by": "handler"})


def test_start_function_with_decorated_method_returns_the_process():
    process = FunctionFlow.start.run("order 1")
    assert process.pk and process.text == "order 1" and process.status == ProcessStatus.STARTED
    assert statuses(process, FunctionFlow.pay) == [TaskStatus.NEW]


def test_function_waits_until_code_runs_it_through_the_task_loader():
    process = FunctionFlow.start.run("order 1")
    other = FunctionFlow.start.run("order 2")
    activation = FunctionFlow.pay.run(process_pk=process.pk, amount=99)
    assert activation.task.status == TaskStatus.DONE
    process, other = fresh(process), fresh(other)
    assert process.count == 99 and process.status == ProcessStatus.DONE
    assert other.count == 0 and statuses(other, FunctionFlow.pay) == [TaskStatus.NEW]


def test_function_run_twice_finds_no_waiting_task():
    process = FunctionFlow.start.run("order")
    FunctionFlow.pay.run(process_pk=process.pk, amount=1)
    with pytest.raises(FlowRuntimeError, match="no waiting task"):
        FunctionFlow.pay.run(process_pk=process.pk, amount=2)
    assert fresh(process).count == 1


def test_function_called_with_a_done_task_names_it():
    process = FunctionFlow.start.run("order")
    task = task_of(process, FunctionFlow.pay)
    FunctionFlow.pay.complete(task, process.pk, amount=5)
    with pytest.raises(FlowRuntimeError, match=rf"Task #{task.pk} \(pay\).*its status is Done"):
        FunctionFlow.pay.complete(task, process.pk, amount=6)


def test_function_body_raising_rolls_back_and_the_task_still_waits():
    process = FunctionFlow.start.run("order")
    with pytest.raises(TypeError):
        FunctionFlow.pay.run(process_pk=process.pk)  # amount missing
    assert statuses(process, FunctionFlow.pay) == [TaskStatus.NEW]
    FunctionFlow.pay.run(process_pk=process.pk, amount=3)
    assert fresh(process).status == ProcessStatus.DONE


def test_start_signal_starts_and_signal_node_continues():
    results = signals.order_placed.send(sender=None, text="signal order")
    process = next(result for receiver, result in results if hasattr(result, "flow_class"))
    process = fresh(process)
    assert process.text == "signal order" and process.flow_class is SignalFlow
    assert statuses(process, SignalFlow.paid) == [TaskStatus.NEW]

    signals.order_paid.send(sender=None, process_pk=process.pk, amount=12)
    process = fresh(process)
    assert process.count == 12 and process.status == ProcessStatus.DONE


def test_signal_for_no_waiting_task_is_ignored():
    signals.order_placed.send(sender=None, text="one")
    process = SignalFlow.process_cls.objects.get(text="one")
    signals.order_paid.send(sender=None, process_pk=process.pk, amount=1)
    # a second payment for a process that moved on, and one for no process at all
    signals.order_paid.send(sender=None, process_pk=process.pk, amount=2)
    signals.order_paid.send(sender=None, process_pk=999999, amount=3)
    assert fresh(process).count == 1
    assert Task.objects.filter(process_id=process.pk, flow_task=SignalFlow.paid).count() == 1
