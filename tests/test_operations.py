"""Operations on tasks and processes: methods with permission checks and clear errors."""

import pytest
from django.core.exceptions import PermissionDenied

from tests.testapp.flows import AssignFlow, CodeStartFlow, FunctionFlow, HumanSplitFlow, IfFlow, SplitFlow
from tests.utils import do_task, fresh, statuses, task_of
from viewflow.exceptions import FlowRuntimeError
from viewflow.permissions import task_permissions
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.views.urls import task_url

pytestmark = pytest.mark.django_db

APPROVE = "testapp.can_approve_sampleprocess"


@pytest.fixture
def manager(user_factory):
    return user_factory("manager", "viewflow.change_task")


@pytest.fixture
def clerk(user_factory):
    return user_factory("clerk", APPROVE)


@pytest.fixture
def approval():
    return task_of(CodeStartFlow.start.run(), CodeStartFlow.approve)


def operate(task, operation, *args, **kwargs):
    with task.activation() as activation:
        getattr(activation, operation)(*args, **kwargs)
    task.refresh_from_db()
    return task


# -- assign, unassign, reassign -------------------------------------------------------------


def test_claim_give_back_and_reassign(approval, clerk, manager, user_factory):
    other = user_factory("other", APPROVE)
    task = operate(approval, "assign", clerk, by=clerk)
    assert task.status == TaskStatus.ASSIGNED and task.owner == clerk and task.started
    task = operate(task, "unassign", by=clerk)
    assert task.status == TaskStatus.NEW and task.owner is None
    task = operate(task, "reassign", other, by=manager)
    assert task.status == TaskStatus.ASSIGNED and task.owner == other
    task = operate(task, "reassign", clerk, by=manager)
    assert task.owner == clerk


def test_permission_checks(approval, clerk, manager, user_factory):
    nobody = user_factory("nobody")
    with pytest.raises(PermissionDenied):
        operate(approval, "assign", nobody, by=nobody)  # no permission for the node
    with pytest.raises(PermissionDenied):
        operate(approval, "assign", nobody, by=clerk)  # a clerk claims only for themselves
    with pytest.raises(PermissionDenied):
        operate(approval, "reassign", clerk, by=clerk)  # reassigning is a manager's job
    with pytest.raises(PermissionDenied):
        operate(approval, "cancel", by=clerk)
    operate(approval, "assign", clerk, by=manager)  # a manager may hand it to someone
    with pytest.raises(PermissionDenied):
        operate(approval, "unassign", by=nobody)
    with pytest.raises(PermissionDenied):
        operate(approval, "done", by=manager)  # only the owner completes it
    approval.refresh_from_db()
    assert approval.status == TaskStatus.ASSIGNED and approval.owner == clerk


@pytest.mark.parametrize(
    "setup, operation, args, action",
    [
        (["assign"], "assign", ("clerk",), "assigned"),
        ([], "unassign", (), "unassigned"),
        ([], "done", (), "completed"),
        ([], "retry", (), "retried"),
        ([], "undo", (), "undone"),
        (["assign", "done"], "cancel", (), "canceled"),
        (["assign", "done"], "reassign", ("clerk",), "reassigned"),
    ],
)
def test_illegal_operations_name_task_and_status(approval, clerk, setup, operation, args, action):
    for step in setup:
        operate(approval, step, *([clerk] if step == "assign" else []))
    status = approval.status
    args = [clerk if arg == "clerk" else arg for arg in args]
    with pytest.raises(FlowRuntimeError) as error:
        operate(approval, operation, *args)
    assert (
        str(error.value)
        == f"Task #{approval.pk} (approve) cannot be {action}: its status is {TaskStatus(status).label}."
    )
    approval.refresh_from_db()
    assert approval.status == status


def test_giving_a_task_back_twice_names_its_status(approval, clerk):
    operate(approval, "assign", clerk, by=clerk)
    operate(approval, "unassign", by=clerk)
    with pytest.raises(FlowRuntimeError, match=r"\(approve\) cannot be unassigned: its status is New\."):
        operate(approval, "unassign", by=clerk)  # not "clerk may not unassign": they just did


def test_assigning_an_automated_task_is_refused():
    process = fresh(IfFlow.start.run(approved=True))
    handler = task_of(process, IfFlow.yes)
    with pytest.raises(FlowRuntimeError, match=r"\(yes\) cannot be assigned: nobody does HANDLER tasks"):
        operate(handler, "assign", None)


def test_assign_callables_and_owner_of_another_task(django_user_model, user_factory):
    fixed = django_user_model.objects.create_user("fixed", pk=4242)
    named = user_factory("named")
    process = AssignFlow.start.run("named")
    task = task_of(process, AssignFlow.to_user)
    assert task.status == TaskStatus.ASSIGNED and task.owner == fixed
    do_task(task)
    task = task_of(process, AssignFlow.to_named)
    assert task.owner == named
    do_task(task)
    task = task_of(process, AssignFlow.to_same)
    assert task.status == TaskStatus.ASSIGNED and task.owner == named  # whoever did to_named
    do_task(task)
    assert fresh(process).status == ProcessStatus.DONE


def test_a_task_with_no_queue_cannot_be_given_back(django_user_model, manager):
    """``.Assign(...)`` without a permission: back in the queue, nobody could ever claim it again."""
    fixed = django_user_model.objects.create_user("fixed", pk=4242)
    task = task_of(AssignFlow.start.run("fixed"), AssignFlow.to_user)
    for user in (fixed, manager):
        assert "unassign" not in task_permissions(user, task)
        with pytest.raises(FlowRuntimeError, match=r"cannot be unassigned: its node has no permission"):
            operate(task, "unassign", by=user)
        task.refresh_from_db()
        assert task.status == TaskStatus.ASSIGNED and task.owner == fixed
    assert "reassign" in task_permissions(manager, task)
    task = operate(task, "reassign", manager, by=manager)  # the way to move it
    assert task.status == TaskStatus.ASSIGNED and task.owner == manager


def test_the_site_offers_no_give_back_without_a_queue(django_user_model, client_for):
    fixed = django_user_model.objects.create_user("fixed", pk=4242)
    task = task_of(AssignFlow.start.run("fixed"), AssignFlow.to_user)
    client = client_for(fixed)
    detail = client.get(task_url(task, "detail"))
    assert detail.status_code == 200 and task_url(task, "unassign") not in detail.content.decode()
    assert client.post(task_url(task, "unassign")).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.ASSIGNED and task.owner == fixed


# -- cancel a task -----------------------------------------------------------------------


def test_cancelling_the_last_open_branch_lets_the_join_fire(manager, clerk):
    process = HumanSplitFlow.start.run()
    do_task(task_of(process, HumanSplitFlow.review_a), clerk)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.STARTED]
    operate(task_of(process, HumanSplitFlow.review_b), "cancel", by=manager)
    process = fresh(process)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.DONE]
    assert process.items == ["after"] and process.status == ProcessStatus.DONE


def test_cancelling_one_of_several_open_branches_keeps_the_join_waiting(manager, clerk):
    process = HumanSplitFlow.start.run()
    operate(task_of(process, HumanSplitFlow.review_a), "cancel", by=manager)
    assert statuses(process, HumanSplitFlow.join) == []
    assert fresh(process).status == ProcessStatus.STARTED
    do_task(task_of(process, HumanSplitFlow.review_b), clerk)
    process = fresh(process)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.DONE]
    assert process.status == ProcessStatus.DONE


def test_cancelling_every_branch_moves_the_flow_on_like_an_empty_split(manager):
    process = HumanSplitFlow.start.run()
    operate(task_of(process, HumanSplitFlow.review_a), "cancel", by=manager)
    operate(task_of(process, HumanSplitFlow.review_b), "cancel", by=manager)
    process = fresh(process)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.DONE]
    assert process.items == ["after"] and process.status == ProcessStatus.DONE


def test_a_waiting_join_cannot_be_canceled(manager, clerk):
    process = HumanSplitFlow.start.run()
    do_task(task_of(process, HumanSplitFlow.review_a), clerk)
    join = task_of(process, HumanSplitFlow.join)
    with pytest.raises(
        FlowRuntimeError, match=r"\(join\) cannot be canceled: its status is Started; cancel the branches"
    ):
        operate(join, "cancel")


def test_cancelling_the_only_active_task_cancels_the_process(approval, manager):
    operate(approval, "cancel", by=manager)
    process = fresh(approval.process)
    assert approval.status == TaskStatus.CANCELED
    assert process.status == ProcessStatus.CANCELED and process.finished is not None


# -- undo ------------------------------------------------------------------------------


def test_undo_reopens_a_task_and_cancels_the_untouched_next_one(manager, django_user_model, user_factory):
    fixed = django_user_model.objects.create_user("fixed", pk=4242)
    user_factory("named")
    process = AssignFlow.start.run("named")
    first = task_of(process, AssignFlow.to_user)
    do_task(first)
    operate(first, "undo", by=manager)
    assert first.status == TaskStatus.ASSIGNED and first.owner == fixed and first.finished is None
    assert statuses(process, AssignFlow.to_named) == [TaskStatus.CANCELED]
    assert fresh(process).status == ProcessStatus.STARTED
    do_task(first)  # done again: the flow goes on once more
    assert statuses(process, AssignFlow.to_named) == [TaskStatus.CANCELED, TaskStatus.ASSIGNED]
    # and it can be undone again: the successor canceled by the first undo does not stand in the way
    operate(first, "undo", by=manager)
    assert first.status == TaskStatus.ASSIGNED
    assert statuses(process, AssignFlow.to_named) == [TaskStatus.CANCELED, TaskStatus.CANCELED]


def test_undo_of_a_branch_waiting_at_its_join(manager, clerk):
    process = HumanSplitFlow.start.run()
    review_a = task_of(process, HumanSplitFlow.review_a)
    do_task(review_a, clerk)
    operate(review_a, "undo", by=manager)
    assert review_a.status == TaskStatus.ASSIGNED
    join = task_of(process, HumanSplitFlow.join)
    assert join.status == TaskStatus.STARTED and list(join.previous.all()) == []
    do_task(task_of(process, HumanSplitFlow.review_b), clerk)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.STARTED]  # review_a is open again
    do_task(review_a)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.DONE]
    assert fresh(process).items == ["after"]


def test_undo_is_refused_once_the_next_node_ran(approval, clerk, manager):
    do_task(approval, clerk)  # approve → End: the process is DONE
    with pytest.raises(FlowRuntimeError, match=r"\(approve\) cannot be undone: the status of process #\d+ is Done"):
        operate(approval, "undo", by=manager)
    process = fresh(SplitFlow.start.run(text="a"))
    start = task_of(process, SplitFlow.start)
    with pytest.raises(FlowRuntimeError, match=r"\(start\) cannot be undone: the status of process #\d+ is Done"):
        operate(start, "undo")


def test_the_detail_page_offers_undo_only_while_nothing_after_the_task_ran(
    django_user_model, user_factory, client_for
):
    django_user_model.objects.create_user("fixed", pk=4242)
    user_factory("named")
    manager = client_for(user_factory("boss", superuser=True))
    process = AssignFlow.start.run("named")
    first = task_of(process, AssignFlow.to_user)
    do_task(first)
    undo = task_url(first, "undo")
    assert undo in manager.get(task_url(first, "detail")).content.decode()  # to_named waits: undo cancels it
    do_task(task_of(process, AssignFlow.to_named))  # now it ran, and the process still runs
    assert fresh(process).status == ProcessStatus.STARTED
    page = manager.get(task_url(first, "detail"))
    assert page.status_code == 200 and undo not in page.content.decode()


def test_undo_is_refused_for_nodes_that_do_not_allow_it(clerk):
    process = HumanSplitFlow.start.run()
    split = task_of(process, HumanSplitFlow.split)
    with pytest.raises(FlowRuntimeError, match=r"\(split\) cannot be undone: its node does not allow it"):
        operate(split, "undo")


def test_undo_by_a_clerk_is_denied(approval, clerk):
    with pytest.raises(PermissionDenied):
        operate(approval, "undo", by=clerk)


# -- cancel a process ----------------------------------------------------------------------


def test_cancel_process_cancels_every_active_task_and_the_waiting_join(manager, clerk):
    process = HumanSplitFlow.start.run()
    review_a = task_of(process, HumanSplitFlow.review_a)
    do_task(review_a, clerk)
    process.cancel(by=manager)
    process = fresh(process)
    assert process.status == ProcessStatus.CANCELED and process.finished is not None
    assert statuses(process, HumanSplitFlow.review_a) == [TaskStatus.DONE]
    assert statuses(process, HumanSplitFlow.review_b) == [TaskStatus.CANCELED]
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.CANCELED]

    review_b = task_of(process, HumanSplitFlow.review_b)
    with pytest.raises(FlowRuntimeError, match="cannot be assigned: its status is Canceled"):
        operate(review_b, "assign", clerk)
    with pytest.raises(
        FlowRuntimeError, match=r"\(review_a\) cannot be undone: the status of process #\d+ is Canceled"
    ):
        operate(review_a, "undo")
    with pytest.raises(FlowRuntimeError, match=r"Process #\d+ cannot be canceled: its status is Canceled"):
        process.cancel()
    assert statuses(process, HumanSplitFlow.after) == []


def test_cancel_process_permission_and_waiting_function(clerk, manager):
    process = FunctionFlow.start.run("order")
    with pytest.raises(PermissionDenied):
        process.cancel(by=clerk)
    process.cancel(by=manager)
    with pytest.raises(FlowRuntimeError, match="no waiting task"):
        FunctionFlow.pay.run(process_pk=process.pk, amount=1)
    assert fresh(process).count == 0


# -- viewflow.operations and the two kinds of refusal ---------------------------------------


def test_operations_module_drives_the_same_activations(approval, clerk, manager, user_factory):
    from viewflow import operations

    task = operations.claim(approval, clerk)
    assert fresh_task(task).status == TaskStatus.ASSIGNED and fresh_task(task).owner == clerk
    operations.unassign(task, by=clerk)
    assert fresh_task(task).status == TaskStatus.NEW
    operations.reassign(task, clerk, by=manager)
    assert fresh_task(task).owner == clerk
    operations.cancel(task, by=manager)
    assert fresh_task(task).status == TaskStatus.CANCELED
    with pytest.raises(PermissionDenied):
        operations.cancel_process(approval.process, by=clerk)


def test_illegal_transition_and_conflict_are_told_apart(approval, clerk, user_factory):
    from viewflow import operations
    from viewflow.exceptions import FlowConflict, FlowIllegalTransition

    operations.claim(approval, clerk)
    with pytest.raises(FlowIllegalTransition, match="cannot be assigned"):
        operations.claim(approval, user_factory("late", APPROVE))  # the state says no: a 400
    with pytest.raises(FlowConflict, match="changed by someone else"):
        with approval.activation() as activation:
            approval.__class__._base_manager.filter(pk=approval.pk).update(status=TaskStatus.NEW)  # someone else
            activation.unassign(by=clerk)
    assert issubclass(FlowConflict, FlowRuntimeError) and issubclass(FlowIllegalTransition, FlowRuntimeError)
    assert fresh_task(approval).status == TaskStatus.ASSIGNED  # the refused step was rolled back whole


def fresh_task(task):
    return task.__class__._base_manager.get(pk=task.pk)
