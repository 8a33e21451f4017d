"""Jobs without a worker (DESIGN §5): the embedded default, retries, a broker that is down.

With no broker configured a job runs in this process right after the step
that scheduled it commits. The same ``run_job`` runs on a worker, so what is
checked here (at most once to DONE, ERROR with the traceback, retry) holds
there too; ``test_celery_worker.py`` proves it on Redis with real workers.
"""

import os

import pytest
from celery import Celery
from django.core.management import CommandError, call_command
from django.db import transaction

from tests.testapp.job_flows import FileJobFlow, RetryingJobFlow
from tests.testapp.ops_flows import OpsReviewFlow
from tests.testapp.tasks import file_job, runs
from viewflow.exceptions import FlowRuntimeError
from viewflow.fields import node_path
from viewflow.flow import flow_job
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@pytest.fixture
def dead_broker():
    """Make current a Celery app whose broker refuses connections: sending a message fails fast."""
    from celery import _state

    app = Celery("dead-broker", set_as_current=False)
    app.conf.update(
        broker_url="redis://127.0.0.1:1/0",
        task_publish_retry=False,
        broker_connection_retry=False,
        broker_transport_options={"max_retries": 0},
    )
    saved = _state._tls.current_app
    app.set_current()
    yield app
    _state._tls.current_app = saved


def nodes_of(process):
    return [(task.flow_task.name, task.status) for task in process.task_set.order_by("pk")]


def job_of(process):
    return process.task_set.get(flow_task_type="JOB")


def test_without_a_broker_a_job_runs_in_process_right_after_commit(workdir):
    with transaction.atomic():
        process = FileJobFlow.start.run(workdir)
        job = job_of(process)
        assert job.status == TaskStatus.SCHEDULED and job.external_task_id
        assert runs(workdir) == []  # not before the commit
    job.refresh_from_db()
    process.refresh_from_db()
    assert job.status == TaskStatus.DONE and job.started and job.finished
    assert process.status == ProcessStatus.DONE and process.count == 1
    assert nodes_of(process) == [("start", "DONE"), ("work", "DONE"), ("end", "DONE")]
    assert runs(workdir) == [("start", os.getpid()), ("done", os.getpid())]


def test_a_rolled_back_step_runs_no_job(workdir):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            FileJobFlow.start.run(workdir)
            raise RuntimeError("the caller changed its mind")
    assert runs(workdir) == []
    assert not FileJobFlow.process_cls.objects.filter(text=str(workdir)).exists()


def test_flow_job_with_and_without_parentheses():
    def body(activation):
        pass

    assert flow_job() is flow_job
    for decorated in (flow_job(body), flow_job()(body)):
        assert decorated.is_flow_job and decorated.__name__ == "body" and decorated.__wrapped__ is body


def test_the_same_message_again_does_nothing(workdir):
    process = FileJobFlow.start.run(workdir)
    job = job_of(process)
    args = [node_path(FileJobFlow.work), process.pk, job.pk]
    assert file_job.apply(args=args, task_id=job.external_task_id).get() is None
    process.refresh_from_db()
    assert process.count == 1 and len(runs(workdir)) == 2
    assert nodes_of(process) == [("start", "DONE"), ("work", "DONE"), ("end", "DONE")]


def test_a_message_for_a_gone_process_or_task_does_nothing(workdir):
    process = FileJobFlow.start.run(workdir)
    job = job_of(process)
    assert file_job.apply(args=[node_path(FileJobFlow.work), process.pk + 1000, job.pk]).get() is None
    assert file_job.apply(args=[node_path(FileJobFlow.work), process.pk, job.pk + 1000]).get() is None
    assert file_job.apply(args=["tests.testapp.job_flows.FileJobFlow.nowhere", process.pk, job.pk]).get() is None
    assert len(runs(workdir)) == 2


def test_a_job_canceled_before_its_message_arrives_does_not_run(workdir, dead_broker):
    process = FileJobFlow.start.run(workdir)  # the message is lost
    job = job_of(process)
    with job.activation() as activation:
        activation.cancel()
    file_job.apply(args=[node_path(FileJobFlow.work), process.pk, job.pk])
    job.refresh_from_db()
    assert job.status == TaskStatus.CANCELED and runs(workdir) == []


def test_failing_job_is_error_with_traceback_and_retry_runs_it_again(workdir, user_factory, client_for, capsys):
    (workdir / "broken").touch()
    process = FileJobFlow.start.run(workdir)
    job = job_of(process)
    process.refresh_from_db()
    assert job.status == TaskStatus.ERROR and process.status == ProcessStatus.ERROR
    assert "Traceback" in job.error and "RuntimeError: the job is broken" in job.error
    first_id = job.external_task_id

    # the retry page, by a manager: a new message, still broken
    boss = user_factory("boss", superuser=True)
    response = client_for(boss).post(f"/flows/filejob/{process.pk}/work/{job.pk}/retry/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == TaskStatus.ERROR and job.external_task_id != first_id
    # a person without the right gets no retry
    nobody = client_for(user_factory("nobody"))
    assert nobody.post(f"/flows/filejob/{process.pk}/work/{job.pk}/retry/").status_code == 403

    (workdir / "broken").unlink()
    call_command("retry_tasks", "--task", str(job.pk))
    out = capsys.readouterr().out
    assert f"Retried task #{job.pk} filejob.work of process #{process.pk}: ERROR -> DONE." in out
    job.refresh_from_db()
    process.refresh_from_db()
    assert job.status == TaskStatus.DONE and job.error == ""
    assert process.status == ProcessStatus.DONE and process.count == 1
    assert [word for word, _pid in runs(workdir)] == ["start", "start", "start", "done"]
    # nothing left to retry, and a DONE job cannot be retried
    with job.activation() as activation, pytest.raises(FlowRuntimeError, match="cannot be retried"):
        activation.retry(scheduled=True)


def test_bound_job_retried_by_celery_in_process(workdir):
    process = RetryingJobFlow.start.run(workdir, count=2)
    assert job_of(process).status == TaskStatus.DONE
    assert [word for word, _pid in runs(workdir)] == ["try0", "try1", "try2"]


def test_bound_job_out_of_celery_retries_is_error(workdir):
    process = RetryingJobFlow.start.run(workdir, count=5)  # max_retries=3
    job = job_of(process)
    process.refresh_from_db()
    assert job.status == TaskStatus.ERROR and process.status == ProcessStatus.ERROR
    assert "MaxRetriesExceededError" in job.error
    assert [word for word, _pid in runs(workdir)] == ["try0", "try1", "try2", "try3"]


def test_a_message_that_cannot_be_sent_leaves_the_job_scheduled_and_retryable(workdir, dead_broker, capsys, caplog):
    with caplog.at_level("ERROR", logger="viewflow.contrib.celery"):
        process = FileJobFlow.start.run(workdir)  # the step commits; the send fails after it
    assert "could not send the message" in caplog.text
    job = job_of(process)
    process.refresh_from_db()
    assert job.status == TaskStatus.SCHEDULED and process.status == ProcessStatus.STARTED
    assert "could not be sent" in job.error and "Traceback" in job.error
    assert runs(workdir) == []

    # a plain retry does not take a SCHEDULED task; asked explicitly, it does
    with job.activation() as activation, pytest.raises(FlowRuntimeError, match="cannot be retried"):
        activation.retry()
    call_command("retry_tasks", "--task", str(job.pk))
    assert "No task to retry." in capsys.readouterr().out
    call_command("retry_tasks", "--flow", "filejob", "--scheduled", "--older-than", "1h")
    assert "No task to retry." in capsys.readouterr().out  # it is not that old

    with pytest.raises(CommandError, match="1 of 1 task"):  # the broker is still down: said, and not a success
        call_command("retry_tasks", "--task", str(job.pk), "--scheduled")
    err = capsys.readouterr().err
    assert f"Could not send the message of task #{job.pk} filejob.work of process #{process.pk}" in err
    job.refresh_from_db()
    assert "could not be sent" in job.error

    dead_broker.conf.broker_url = None  # the broker is back (here: jobs run in-process)
    old_id = job.external_task_id
    call_command("retry_tasks", "--flow", "filejob", "--scheduled")
    assert (
        f"Retried task #{job.pk} filejob.work of process #{process.pk}: SCHEDULED -> DONE." in capsys.readouterr().out
    )
    job.refresh_from_db()
    process.refresh_from_db()
    assert job.status == TaskStatus.DONE and job.error == "" and job.external_task_id != old_id
    assert process.status == ProcessStatus.DONE and runs(workdir)[-1][0] == "done"


def test_a_message_sent_despite_the_note_clears_it(workdir, dead_broker):
    process = FileJobFlow.start.run(workdir)
    job = job_of(process)
    assert job.error
    file_job.apply(args=[node_path(FileJobFlow.work), process.pk, job.pk])  # it did get through after all
    job.refresh_from_db()
    assert job.status == TaskStatus.DONE and job.error == ""


def test_retry_tasks_retries_any_failed_automated_task(user_factory, capsys):
    reviewer = user_factory("reviewer", superuser=True)
    process = OpsReviewFlow.start.run(text="fail")
    review = process.task_set.get(flow_task=OpsReviewFlow.review)
    with review.activation() as activation:
        activation.assign(reviewer)
        activation.done()
    failed = process.task_set.get(flow_task=OpsReviewFlow.process_it)
    assert failed.status == TaskStatus.ERROR

    call_command("retry_tasks", "--flow", "opsreview", "--dry-run")
    assert (
        f"Would retry task #{failed.pk} opsreview.process_it of process #{process.pk} (ERROR)."
        in capsys.readouterr().out
    )
    failed.refresh_from_db()
    assert failed.status == TaskStatus.ERROR

    with pytest.raises(CommandError, match="1 of 1 task"):  # it fails again: reported, not hidden
        call_command("retry_tasks", "--node", "process_it")
    type(process).objects.filter(pk=process.pk).update(text="fine")
    call_command("retry_tasks", "--all")
    assert (
        f"Retried task #{failed.pk} opsreview.process_it of process #{process.pk}: ERROR -> DONE."
        in capsys.readouterr().out
    )
    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE


def test_retry_tasks_wants_a_selection_and_known_names():
    with pytest.raises(CommandError, match="Say which tasks"):
        call_command("retry_tasks")
    with pytest.raises(CommandError, match="No flow 'nosuch'"):
        call_command("retry_tasks", "--flow", "nosuch")
    with pytest.raises(CommandError, match="No node 'nosuch'"):
        call_command("retry_tasks", "--flow", "filejob", "--node", "nosuch")


def test_a_message_naming_another_process_or_node_does_nothing(workdir, dead_broker):
    one = FileJobFlow.start.run(workdir)  # messages lost: both jobs wait
    other = FileJobFlow.start.run(workdir)
    job = job_of(one)
    assert file_job.apply(args=[node_path(FileJobFlow.work), other.pk, job.pk]).get() is None
    assert file_job.apply(args=[node_path(RetryingJobFlow.work), one.pk, job.pk]).get() is None
    job.refresh_from_db()
    assert job.status == TaskStatus.SCHEDULED and runs(workdir) == []
