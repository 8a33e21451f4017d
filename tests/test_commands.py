"""Management commands: flow_chart and list_tasks."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from helloworld.flows import HelloWorldFlow
from tests.testapp.flows import CodeStartFlow
from tests.testapp.ops_flows import OpsReviewFlow
from viewflow.models import Task
from viewflow.status import TaskStatus

pytestmark = pytest.mark.django_db  # no job or on-commit effect is needed: rolled back, fast


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# -- flow_chart ----------------------------------------------------------------


def test_flow_chart_by_label_to_stdout():
    out, _err = run("flow_chart", "helloworld")
    assert out.startswith("<svg") and out.rstrip().endswith("</svg>")
    for node in HelloWorldFlow._meta.nodes.values():
        assert f'data-node="{node.name}"' in out


def test_flow_chart_by_dotted_path_to_file(tmp_path):
    target = tmp_path / "chart.svg"
    _out, err = run("flow_chart", "tests.testapp.ops_flows.OpsReviewFlow", "-o", str(target))
    svg = target.read_text()
    assert 'data-node="process_it"' in svg and 'data-node="review"' in svg
    assert str(target) in err


def test_flow_chart_marks_a_process_state():
    process = OpsReviewFlow.start.run()
    out, _err = run("flow_chart", "opsreview", "--process", str(process.pk))
    assert 'class="vf-node vf-task active" data-node="review"' in out
    assert 'class="vf-node vf-event done" data-node="start"' in out
    with pytest.raises(CommandError, match="No process"):
        run("flow_chart", "helloworld", "--process", str(process.pk))


def test_flow_chart_unknown_flow_names_the_known_labels():
    with pytest.raises(CommandError, match="helloworld"):
        run("flow_chart", "nosuchflow")
    with pytest.raises(CommandError, match="No flow"):
        run("flow_chart", "tests.nowhere.Flow")


# -- list_tasks ----------------------------------------------------------------


def make_old(task, minutes):
    Task.objects.filter(pk=task.pk).update(created=timezone.now() - timedelta(minutes=minutes))


@pytest.fixture
def tasks(user_factory):
    """An errored handler, an old and a fresh waiting review, an old waiting approval."""
    user = user_factory("reviewer")
    failed = OpsReviewFlow.start.run(text="fail")
    with failed.task_set.get(flow_task=OpsReviewFlow.review).activation() as activation:
        activation.assign(user)
        activation.done()
    old_review = OpsReviewFlow.start.run().task_set.get(flow_task=OpsReviewFlow.review)
    make_old(old_review, 120)
    fresh_review = OpsReviewFlow.start.run().task_set.get(flow_task=OpsReviewFlow.review)
    old_approval = CodeStartFlow.start.run().task_set.get(flow_task=CodeStartFlow.approve)
    make_old(old_approval, 24 * 60 * 3)
    return {
        "error": failed.task_set.get(flow_task=OpsReviewFlow.process_it),
        "old_review": old_review,
        "fresh_review": fresh_review,
        "old_approval": old_approval,
    }


def listed(out):
    """Task ids of the table rows."""
    import re

    return [int(match) for match in re.findall(r"^\s*(\d+)\s+\d+\s+[A-Z]+\s", out, re.MULTILINE)]


def test_list_tasks_shows_errors_and_old_waiting_tasks(tasks):
    out, _err = run("list_tasks")
    assert set(listed(out)) == {tasks["error"].pk, tasks["old_review"].pk, tasks["old_approval"].pk}
    assert "ValueError: cannot process a failing text" in out  # the traceback's last line
    assert "opsreview.process_it" in out and "codestart.approve" in out
    assert "3 task(s)." in out
    assert "3d" in out  # the old approval's age


def test_list_tasks_threshold_and_filters(tasks):
    out, _err = run("list_tasks", "--older-than", "0s")
    assert tasks["fresh_review"].pk in listed(out)
    out, _err = run("list_tasks", "--older-than", "1d")
    assert set(listed(out)) == {tasks["error"].pk, tasks["old_approval"].pk}
    out, _err = run("list_tasks", "--flow", "opsreview")
    assert set(listed(out)) == {tasks["error"].pk, tasks["old_review"].pk}
    out, _err = run("list_tasks", "--flow", "tests.testapp.flows.CodeStartFlow", "--status", "NEW")
    assert listed(out) == [tasks["old_approval"].pk]
    out, _err = run("list_tasks", "--status", "ERROR")
    assert listed(out) == [tasks["error"].pk]
    out, _err = run("list_tasks", "--limit", "1")
    assert len(listed(out)) == 1 and "and 2 more" in out


def test_list_tasks_scheduled_job_that_never_ran():
    # a job whose message was lost: SCHEDULED long ago
    with HelloWorldFlow.start.start() as activation:
        activation.process.text = "hi"
        process = activation.done()
    approve = process.task_set.get(flow_task=HelloWorldFlow.approve)
    from viewflow.activation import run_step

    with run_step(HelloWorldFlow, process.pk) as step:
        job = step.new_task(HelloWorldFlow.send, "start", [approve], status=TaskStatus.SCHEDULED)
    make_old(job, 90)
    out, _err = run("list_tasks", "--status", "SCHEDULED")
    assert listed(out) == [job.pk] and "helloworld.send" in out


def test_list_tasks_nothing_to_report_and_bad_duration():
    out, _err = run("list_tasks")
    assert "No stuck or failed tasks." in out
    with pytest.raises(CommandError, match="Bad duration"):
        run("list_tasks", "--older-than", "soon")


# -- bad input: a CommandError that says what is wrong, never a traceback -------


@pytest.mark.parametrize("name", [".", ".x", "helloworld.", "os.path", "helloworld.models.HelloWorldProcess"])
def test_flow_chart_a_malformed_or_wrong_dotted_path_is_no_flow(name):
    with pytest.raises(CommandError, match="No flow"):
        run("flow_chart", name)


def test_flow_chart_an_unwritable_output_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot write the chart"):
        run("flow_chart", "helloworld", "-o", str(tmp_path / "missing" / "chart.svg"))
    with pytest.raises(CommandError, match="Cannot write the chart"):
        run("flow_chart", "helloworld", "-o", str(tmp_path))  # a directory


@pytest.mark.parametrize(
    "args",
    [
        ("flow_chart", "helloworld", "--process", "99999999999999999999"),
        ("retry_tasks", "--task", "99999999999999999999"),
        ("retry_tasks", "--process", "99999999999999999999"),
        ("retry_tasks", "--task", "x1"),
    ],
)
def test_an_id_beyond_64_bits_is_refused_by_the_parser(args):
    # SQLite raised OverflowError on such a number; PostgreSQL found nothing
    with pytest.raises(CommandError, match="is not an id"):
        run(*args)


@pytest.mark.parametrize("duration", ["99999999999d", "999999999d", "9999999999999999999999s"])
def test_a_duration_too_long_is_a_bad_duration(duration):
    with pytest.raises(CommandError, match="Bad duration"):
        run("list_tasks", "--older-than", duration)
    with pytest.raises(CommandError, match="Bad duration"):
        run("retry_tasks", "--all", "--scheduled", "--older-than", duration)


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "99999999999999999999", "10001", "1e3"])
def test_list_tasks_limit_must_be_from_one_to_the_maximum(limit):
    # a number beyond 64 bits once ended in IntegrityError on SQLite
    with pytest.raises(CommandError, match=r"--limit.*from 1 to 10000"):
        run("list_tasks", "--limit", limit)


def test_list_tasks_the_largest_limit_is_accepted(tasks):
    assert "task(s)." in run("list_tasks", "--limit", "10000")[0]


@pytest.mark.parametrize("name", ["viewflow.base.Flow", "viewflow.Flow", "tests.testapp.flows.Flow"])
def test_flow_chart_of_the_base_class_or_a_flow_without_nodes_is_a_command_error(name):
    # viewflow.base.Flow once raised AttributeError: it has no nodes to draw
    with pytest.raises(CommandError, match="declares no nodes|No flow"):
        run("flow_chart", name)


def test_flow_chart_of_a_flow_with_no_nodes_says_so():
    with pytest.raises(CommandError, match=r"viewflow\.base\.Flow declares no nodes: give a flow class that does"):
        run("flow_chart", "viewflow.base.Flow")


def test_retry_tasks_older_than_without_scheduled_is_refused(tasks):
    # errors are retried whatever their age: a silently ignored --older-than would retry them all
    with pytest.raises(CommandError, match="--older-than applies to --scheduled"):
        run("retry_tasks", "--all", "--older-than", "30m")
    tasks["error"].refresh_from_db()
    assert tasks["error"].status == TaskStatus.ERROR
