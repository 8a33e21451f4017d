"""viewflow.testing: the helpers users test their flows with, in pytest and in Django's TestCase."""

import datetime

import pytest
from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from helloworld.flows import HelloWorldFlow
from orders.flows import OrderFlow
from tests.testapp.flows import FunctionFlow, NestedSplitFlow, SplitFlow
from tests.testapp.job_flows import FileJobFlow
from tests.utils import do_task
from viewflow import operations, signals
from viewflow.activation import step_observers
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.test import FlowTest
from viewflow.testing import FlowTester, FlowTestError, InvalidForm, make_user
from viewflow.testing.paths import build_path, flow_order, normalise_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def starter(flow_user):
    return flow_user("starter", HelloWorldFlow.start, "helloworld.view_helloworldprocess")


@pytest.fixture
def approver(flow_user):
    return flow_user("approver", HelloWorldFlow.approve)


def test_a_process_is_started_and_done_through_the_real_pages(flow_tester, starter, approver):
    flow = flow_tester(HelloWorldFlow)
    run = flow.start(starter, text="Hello")
    assert run.process.text == "Hello" and run.status == ProcessStatus.STARTED
    assert run.tasks(HelloWorldFlow.start)[0].owner == starter  # the view knew who started it
    task = run.task("approve")
    assert task.status == TaskStatus.NEW and task.owner is None
    done = run.complete("approve", approver, approved=True)  # claimed first, as a person would
    assert done.status == TaskStatus.DONE and done.owner == approver
    run.assert_path("start", "approve", "check_approve", "send", "end").assert_status("DONE")
    assert run.process.approved is True


def test_a_form_sent_back_with_errors_raises_its_messages_and_nothing_is_done(flow_tester, starter, approver):
    flow = flow_tester(HelloWorldFlow)
    with pytest.raises(InvalidForm) as refused:
        flow.start(starter, text="")
    assert refused.value.errors == {"text": ["This field is required."]}
    assert "text: This field is required." in str(refused.value)
    assert not HelloWorldFlow.process_cls.objects.exists()


def test_too_long_text_is_refused_by_the_form(flow_tester, starter):
    with pytest.raises(InvalidForm, match="at most 150 characters"):
        flow_tester(HelloWorldFlow).start(starter, text="x" * 151)


def test_a_user_without_permission_is_refused_with_the_pages_reason(flow_tester, starter, approver):
    flow = flow_tester(HelloWorldFlow)
    with pytest.raises(FlowTestError, match=r"answered 403 \(You may not start this process.\)"):
        flow.start(approver, text="Hello")
    run = flow.start(starter, text="Hello")
    with pytest.raises(FlowTestError, match="claiming approve .* answered 403"):
        run.complete("approve", starter, approved=True)
    assert run.task("approve").status == TaskStatus.NEW


def test_finding_tasks_names_what_is_there_instead(flow_tester, starter, approver):
    flow = flow_tester(HelloWorldFlow)
    run = flow.start(starter, text="Hello")
    with pytest.raises(FlowTestError, match=r"no active task of send; active: approve \(NEW\)"):
        run.task("send")
    with pytest.raises(FlowTestError, match="has no node 'aprove'; its nodes are start, approve"):
        run.task("aprove")
    with pytest.raises(FlowTestError, match="is not a node of HelloWorldFlow"):
        run.task(OrderFlow.package)
    with pytest.raises(FlowTestError, match="waits in a queue: say who claims it"):
        run.complete("approve", approved=True)
    with pytest.raises(FlowTestError, match="No user is called 'nobody'"):
        run.complete("approve", "nobody")
    run.claim("approve", "approver")  # a username will do
    run.complete("approve", approved=False)  # the owner does it
    run.assert_path("start", "approve", "check_approve", "end")
    with pytest.raises(FlowTestError, match=r"took \['start', 'approve', 'check_approve', 'end'\], not"):
        run.assert_path("start", "approve", "end")
    with pytest.raises(FlowTestError, match="is DONE, not STARTED"):
        run.assert_status(ProcessStatus.STARTED)


def test_jobs_can_wait_until_the_test_runs_them(flow_tester, starter, approver):
    flow = flow_tester(HelloWorldFlow, run_jobs=False)
    run = flow.start(starter, text="Hello")
    run.complete("approve", approver, approved=True)
    assert run.task("send").status == TaskStatus.SCHEDULED  # its message was held, not sent
    assert run.status == ProcessStatus.STARTED
    assert run.run_jobs() == 1
    run.assert_status("DONE")
    assert run.run_jobs() == 0


def test_a_failing_job_is_in_error_and_runs_again_after_a_retry(flow_tester, tmp_path, starter):
    (tmp_path / "broken").touch()
    flow = flow_tester(FileJobFlow)
    with pytest.raises(FlowTestError, match="FileJobFlow has no start view: start it with run"):
        flow.start(starter)
    run = flow.run("start", tmp_path)
    assert run.task("work").status == TaskStatus.ERROR and "the job is broken" in run.task("work").error
    run.assert_status("ERROR")
    (tmp_path / "broken").unlink()
    with run.committed():  # the manager's retry dispatches the job again: on commit, it runs
        operations.retry(run.task("work"))
    run.assert_status("DONE").assert_path("start", "work", "end")
    assert run.process.count == 1


def test_functions_and_signals_are_run_as_committed_actions(flow_tester):
    flow = flow_tester(FunctionFlow)
    finished = []
    receiver = lambda sender, process, **kwargs: finished.append(process.pk)  # noqa: E731
    signals.flow_finished.connect(receiver, sender=FunctionFlow, weak=False, dispatch_uid="test-testing")
    try:
        run = flow.run("start", text="x")
        assert [task.flow_task.name for task in run.tasks(active=True)] == ["pay"]
        run.run("pay", process_pk=run.pk, amount=7)
        run.assert_status("DONE").assert_path("start", "pay", "end")
    finally:
        signals.flow_finished.disconnect(sender=FunctionFlow, dispatch_uid="test-testing")
    assert finished == [run.pk]  # sent on "commit", even inside the test's transaction


def test_the_path_shows_split_branches_as_a_group(flow_tester):
    run = flow_tester(SplitFlow).run("start", text="b")
    assert run.path() == ["start", "split", [("b",), ("c",)], "join", "after", "end"]
    run.assert_path("start", "split", {"c", "b"}, "join", "after", "end")  # branches in any order
    with pytest.raises(FlowTestError):
        run.assert_path("start", "split", {"a", "b", "c"}, "join", "after", "end")
    assert run.nodes() == ["start", "split", "b", "c", "join", "after", "end"]


def test_nested_splits_nest_their_groups(flow_tester, flow_user):
    run = flow_tester(NestedSplitFlow).run("start", text="")
    user = flow_user("x", NestedSplitFlow.x)
    with pytest.raises(FlowTestError, match="NestedSplitFlow has no pages in the test's URLconf: register it"):
        run.complete("x", user)
    with run.committed():
        do_task(run.task("x"), user)
    run.assert_path(
        "start",
        "outer",
        [("x",), ("inner", [("y",), ("z",)], "inner_join", "after_inner")],
        "outer_join",
        "after",
        "end",
    )


def test_build_path_reads_tokens():
    items = [("start", "start"), ("split", "start"), ("a", "start/ab.0"), ("b", "start/ab.1"), ("join", "start/ab"),
             ("b2", "start/ab.1"), ("end", "start")]
    assert build_path(items) == ["start", "split", [("a",), ("b", "b2")], "join", "end"]
    assert normalise_path(["start", (("b", "b2"), "a"), "join"]) == ["start", [("a",), ("b", "b2")], "join"]
    assert build_path([]) == []


def test_flow_order_puts_each_task_after_the_tasks_it_came_from():
    # a Subprocess's task is written before the start task that led to it (its key is needed first)
    assert flow_order([7, 6, 8], [(7, 6), (8, 7)]) == [6, 7, 8]
    assert flow_order([1, 2, 3, 4], [(2, 1), (3, 1), (4, 2), (4, 3)]) == [1, 2, 3, 4]  # else: written order


def test_advance_moves_the_clock_of_the_steps_and_asks_for_the_timers(flow_tester, starter, approver):
    seen = []

    class Tester(FlowTester):
        def fire_due(self, now):
            seen.append((now, timezone.now()))
            return 0

    flow = Tester(HelloWorldFlow)
    before = timezone.now()
    run = flow.start(starter, text="Hello")
    run.advance(days=3)
    (now, inside), = seen
    assert now - before >= datetime.timedelta(days=3) and abs(inside - now) < datetime.timedelta(seconds=5)
    run.complete("approve", approver, approved=True)
    finished = run.tasks("approve")[0].finished
    assert finished - before >= datetime.timedelta(days=3)  # the step ran at the tester's time
    assert timezone.now() - before < datetime.timedelta(days=1)  # outside the tester, time is real
    with pytest.raises(ValueError):
        flow.advance(datetime.timedelta(seconds=-1))


def test_advance_fires_timers_on_a_clock_that_adds_up():
    """The timers of viewflow.operations.fire_due fire as the clock moves; later timers count from the moved clock."""
    from tests.testapp.timer_flows import WaitFlow

    flow = FlowTester(WaitFlow)
    run = flow.run("start", text="first")
    run.advance(minutes=40)
    run.assert_path("start", "wait")  # 40 minutes of an hour: still waiting
    run.advance(minutes=21)
    run.assert_path("start", "wait", "after", "end").assert_status("DONE")

    later = flow.run("start", text="later")  # started 61 minutes into the test's time
    assert later.task("wait").due - flow.now() > datetime.timedelta(minutes=59)
    flow.advance(minutes=30)
    later.assert_status("STARTED")
    flow.advance(minutes=31)
    later.assert_status("DONE")


def test_make_user_grants_node_and_flow_permissions(db):
    user = make_user("clerk", OrderFlow.start, "orders.view_orderprocess")
    assert user.has_perm("orders.can_start_orderprocess") and not user.has_perm("orders.can_package_orderprocess")
    boss = make_user("boss", OrderFlow)
    assert boss.has_perm("orders.can_package_orderprocess") and boss.has_perm("orders.view_orderprocess")
    with pytest.raises(ValueError, match="has no .Permission"):
        make_user("nobody", OrderFlow.post)


def test_flow_coverage_is_off_unless_asked_for(request):
    """No step observer and no receiver of the testing helpers is connected without --flow-coverage."""
    on = request.config.getoption("flow_coverage") is not None
    assert request.config.pluginmanager.has_plugin("viewflow-flow-coverage") is on
    assert len(step_observers) == (1 if on else 0)
    for signal in (signals.flow_started, signals.flow_finished, signals.task_started, signals.task_finished):
        assert not any("viewflow.testing" in repr(receiver) for receiver in signal.receivers)


class HelloWorldTestCase(TestCase):
    """The same helpers in Django's TestCase: nothing commits there, yet jobs and signals happen."""

    @classmethod
    def setUpTestData(cls):
        cls.starter = make_user("starter", HelloWorldFlow.start)
        cls.approver = make_user("approver", HelloWorldFlow.approve)

    def test_the_job_runs_and_the_process_ends(self):
        flow = FlowTester(HelloWorldFlow)
        run = flow.start(self.starter, text="Hello")
        run.complete("approve", self.approver, approved=True)
        run.assert_path("start", "approve", "check_approve", "send", "end").assert_status("DONE")

    def test_without_the_helpers_the_job_would_never_run(self):
        run = FlowTester(HelloWorldFlow).start(self.starter, text="Hello")
        task = run.task("approve")
        with task.activation() as activation:  # the engine called directly: its on-commit work waits forever
            activation.assign(self.approver)
        with task.activation() as activation:
            activation.process.approved = True
            activation.process.save(update_fields=["approved"])
            activation.done()
        self.assertEqual(run.task("send").status, TaskStatus.SCHEDULED)
        self.assertEqual(run.run_jobs(), 1)
        run.assert_status("DONE")


class HelloWorldTransactionTestCase(TransactionTestCase):
    """And where every step really commits."""

    def test_the_job_runs_once(self):
        starter = make_user("starter", HelloWorldFlow.start)
        approver = make_user("approver", HelloWorldFlow.approve)
        run = FlowTester(HelloWorldFlow).start(starter, text="Hello")
        run.complete("approve", approver, approved=True)
        run.assert_status("DONE")
        self.assertEqual(run.tasks("send")[0].status, TaskStatus.DONE)


class ZeroSixFlowTest(TestCase):
    """``viewflow.test.FlowTest``: tests written for 0.6 run as written, on the same helpers."""

    @classmethod
    def setUpTestData(cls):
        make_user("starter", HelloWorldFlow.start)
        make_user("approver", HelloWorldFlow.approve)

    def test_hello_world_the_06_way(self):
        with FlowTest(self, HelloWorldFlow) as flow_test:
            flow_test.Task(HelloWorldFlow.start).User("starter").Execute({"text": "Hi"}).Assert(
                lambda p: p.text == "Hi"
            )
            flow_test.Task(HelloWorldFlow.approve).User("approver").Execute({"approved": True}).Assert(
                lambda p: p.approved
            )
            flow_test.Task(HelloWorldFlow.send).Assert(lambda p: p.status == "DONE")
            flow_test.Task(HelloWorldFlow.end).Assert(lambda p: p.status == "DONE")
        flow_test.run.assert_path("start", "approve", "check_approve", "send", "end")

    def test_a_failed_assert_and_an_unreached_node_fail_the_test(self):
        with FlowTest(self, HelloWorldFlow) as flow_test:
            with self.assertRaisesMessage(AssertionError, "Say who starts HelloWorldFlow"):
                flow_test.Task(HelloWorldFlow.start).Execute({"text": "x"})
            with self.assertRaisesMessage(AssertionError, "the form was refused: text: Ensure this value"):
                flow_test.Task(HelloWorldFlow.start).User("starter").Execute({"text": "x" * 151})
            flow_test.Task(HelloWorldFlow.start).User("starter").Execute(text="Hi")
            with self.assertRaisesMessage(AssertionError, "end was never reached"):
                flow_test.Task(HelloWorldFlow.end).Assert(lambda p: True)
            with self.assertRaisesMessage(AssertionError, "start: the assertion does not hold"):
                flow_test.Task(HelloWorldFlow.start).Assert(lambda p: p.text == "Ho")
            with self.assertRaisesMessage(AssertionError, "no active task of send"):
                flow_test.Task(HelloWorldFlow.send).Execute()


def test_browser_data_sends_what_a_browser_sends_and_types_python_values(db, django_user_model):
    """Each widget as a browser fills it: what the page shows, unticked boxes left out, typed values written."""
    from types import SimpleNamespace

    from django import forms

    from viewflow.testing.forms import browser_data, form_errors

    bob = django_user_model.objects.create_user("bob")

    class Sample(forms.Form):
        name = forms.CharField(initial="Ann")
        agree = forms.BooleanField(initial=True, required=False)
        maybe = forms.NullBooleanField(initial=None, required=False)
        day = forms.DateField(initial=datetime.date(2026, 7, 1))
        when = forms.SplitDateTimeField(required=False)
        colours = forms.MultipleChoiceField(choices=[("r", "red"), ("g", "green")], initial=["g"])
        owner = forms.ModelChoiceField(queryset=django_user_model.objects.all(), required=False)
        locked = forms.CharField(initial="x", disabled=True)

    Lines = forms.formset_factory(forms.Form, extra=2)  # noqa: N806
    page = SimpleNamespace(context=[{"form": Sample(), "formset": Lines(prefix="lines")}])
    shown = browser_data(page, {})
    assert shown == {
        "name": "Ann",
        "agree": "on",
        "maybe": "unknown",
        "day": "2026-07-01",
        "when_0": "",
        "when_1": "",
        "colours": ["g"],
        "owner": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    typed = browser_data(
        page,
        {
            "agree": False,
            "maybe": True,
            "day": datetime.date(2027, 1, 2),
            "when": datetime.datetime(2027, 1, 2, 9, 30),
            "colours": ["r", "g"],
            "owner": bob,
            "extra": 5,
        },
    )
    assert "agree" not in typed and typed["maybe"] == "true" and typed["day"] == "2027-01-02"
    assert (typed["when_0"], typed["when_1"]) == ("2027-01-02", "09:30:00")
    assert typed["colours"] == ["r", "g"] and typed["owner"] == str(bob.pk) and typed["extra"] == "5"
    bound = Sample(typed)
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["owner"] == bob and bound.cleaned_data["when"] == datetime.datetime(
        2027, 1, 2, 9, 30, tzinfo=datetime.UTC
    )
    sent_back = SimpleNamespace(context=[{"form": Sample({"day": "soon", "colours": ["g"]})}])
    assert form_errors(sent_back) == {"name": ["This field is required."], "day": ["Enter a valid date."]}
