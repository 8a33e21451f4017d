"""flow_started, flow_finished, task_started, task_finished, task_failed: each sent once per event."""

from collections import Counter

import pytest

from tests.testapp.flows import BrokenFlow, FunctionFlow, HumanSplitFlow
from tests.utils import do_task, fresh, task_of
from viewflow import signals
from viewflow.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

SIGNALS = ("flow_started", "flow_finished", "task_started", "task_finished", "task_failed")


@pytest.fixture
def received():
    """Every signal received, as ``(signal name, sender, process pk, task pk)`` in order."""
    log = []
    receivers = []
    for name in SIGNALS:

        def receiver(sender, process, task=None, name=name, **kwargs):
            assert process.pk is not None and (task is None or task.pk is not None)
            log.append((name, sender, process.pk, task.pk if task is not None else None))

        getattr(signals, name).connect(receiver, weak=False)
        receivers.append((name, receiver))
    yield log
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver)


def count(log, name):
    """How often ``name`` was received per process (flow signals) or per task (task signals)."""
    key = 2 if name.startswith("flow_") else 3
    return Counter(entry[key] for entry in log if entry[0] == name)


def test_a_whole_process_sends_each_signal_once(received, user_factory):
    worker = user_factory("worker", superuser=True)
    process = HumanSplitFlow.start.run()
    assert [name for name, *_ in received[:2]] == ["flow_started", "task_started"]
    for node in (HumanSplitFlow.review_a, HumanSplitFlow.review_b):
        task = task_of(process, node)
        with task.activation() as activation:
            activation.assign(worker)
        with task.activation() as activation:
            activation.unassign()
        do_task(task, worker)  # assigned again, then done

    task_pks = set(Task.objects.filter(process_id=process.pk).values_list("pk", flat=True))
    assert len(task_pks) == 7  # start, split, two reviews, join, after, end
    assert count(received, "flow_started") == {process.pk: 1}
    assert count(received, "flow_finished") == {process.pk: 1}
    assert count(received, "task_started") == dict.fromkeys(task_pks, 1)
    assert count(received, "task_finished") == dict.fromkeys(task_pks, 1)
    assert count(received, "task_failed") == {}
    assert all(sender is HumanSplitFlow for _n, sender, _p, _t in received)
    # a task starts before it finishes; the process starts first and finishes last
    order = [(name, task) for name, _s, _p, task in received]
    for pk in task_pks:
        assert order.index(("task_started", pk)) < order.index(("task_finished", pk))
    assert received[0][0] == "flow_started" and received[-1][0] == "flow_finished"


def test_failure_and_retry_send_task_failed_then_task_finished(received, user_factory):
    worker = user_factory("worker", superuser=True)
    with BrokenFlow.start.start() as activation:
        activation.process.text = "handler"
        process = activation.done()
    edit = task_of(process, BrokenFlow.edit)
    do_task(edit, worker)
    handler = task_of(process, BrokenFlow.handler)
    assert count(received, "task_failed") == {handler.pk: 1}
    assert handler.pk not in count(received, "task_finished")

    process.text = "fixed"
    process.save()
    with handler.activation() as activation:
        activation.retry()
    assert count(received, "task_failed") == {handler.pk: 1}
    assert count(received, "task_finished")[handler.pk] == 1
    assert count(received, "task_started")[handler.pk] == 1
    assert count(received, "flow_finished") == {process.pk: 1}
    assert fresh(process).status == "DONE"


def test_rolled_back_step_and_form_display_send_nothing(received):
    FunctionFlow.start.new_activation()  # what a GET of a start form does
    assert received == []
    process = FunctionFlow.start.run("order")
    before = list(received)
    with pytest.raises(TypeError):
        FunctionFlow.pay.run(process_pk=process.pk)  # the step rolls back
    assert received == before


def test_cancelling_a_process_sends_flow_finished_once(received):
    process = HumanSplitFlow.start.run()
    process.cancel()
    assert count(received, "flow_finished") == {process.pk: 1}


def test_a_step_sends_its_signals_before_the_job_it_scheduled_runs(received, tmp_path):
    """Without a broker the job runs right after the start step commits: its signals come after that step's."""
    from tests.testapp.job_flows import FileJobFlow

    process = FileJobFlow.start.run(tmp_path)
    assert fresh(process).status == "DONE"
    node = dict(Task.objects.filter(process_id=process.pk).values_list("pk", "flow_task"))
    assert [(name, node[task].name if task else None) for name, _s, _p, task in received] == [
        ("flow_started", "start"),
        ("task_started", "start"),
        ("task_finished", "start"),
        ("task_started", "work"),
        ("task_finished", "work"),
        ("task_started", "end"),
        ("task_finished", "end"),
        ("flow_finished", None),
    ]
