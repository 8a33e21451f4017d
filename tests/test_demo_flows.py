"""The demo's order shipment and leave approval flows, walked end to end with viewflow.testing.

Every start and every task goes through the real pages as the user would
(``FlowTester.start``, ``ProcessRun.complete``); jobs run as a worker would
once the step that scheduled them is done. Together with the other tests,
these go through every node and edge of the demo flows: ``make test`` prints
the flow coverage (``--flow-coverage=helloworld,orders,leave``).
"""

import datetime

import pytest
from django.core.management import call_command

from leave.flows import LeaveFlow
from leave.models import LongLeavePolicy
from leave.signals import employee_returned
from orders.flows import OrderFlow, ParcelFlow, WholesaleFlow
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.testing import FlowTestError, InvalidForm
from viewflow.testing.forms import browser_data
from viewflow.views.urls import task_url

pytestmark = pytest.mark.django_db


# -- orders ----------------------------------------------------------------------


@pytest.fixture
def orders(flow_tester):
    return flow_tester(OrderFlow)


@pytest.fixture
def clerk(flow_user):
    return flow_user("clerk", OrderFlow.start, OrderFlow.confirm, "orders.view_orderprocess")


@pytest.fixture
def packer(flow_user):
    return flow_user("packer", OrderFlow.package, OrderFlow.courier, OrderFlow.freight, "orders.view_orderprocess")


def order_lines(*lines):
    """The start form's line rows, as typed: ``order_lines(("Bolts", 3), ("Nuts", 5))``."""
    typed = {}
    for n, (product, quantity) in enumerate(lines):
        typed[f"lines-{n}-product"], typed[f"lines-{n}-quantity"] = product, quantity
    return typed


def start_order(orders, clerk, customer="ACME", express=False, prepaid=True, lines=(("Bolts", 3), ("Nuts", 5))):
    return orders.start(
        clerk, order_lines(*lines), customer=customer, address="1 Main St", express=express, prepaid=prepaid
    )


def all_packed(run):
    """The pack form's rows, every line ticked."""
    return {f"lines-{n}-packed": True for n in range(run.process.lines.count())}


def test_order_by_post_waits_for_payment_then_the_clerk_confirms(orders, clerk, packer, client_for):
    run = start_order(orders, clerk, prepaid=False)
    order = run.process
    assert [str(line) for line in order.lines.order_by("pk")] == ["3 × Bolts", "5 × Nuts"]
    # three branches: packing and payment wait, the stock job ran once the start was done
    run.assert_path("start", "prepare", [("package",), ("reserve_stock",), ("wait_payment",)], "prepared")
    assert run.task("prepared").status == TaskStatus.STARTED  # the join, reached by the job, waits for the other two
    assert run.tasks("start")[0].owner == clerk
    assert all(line.reserved for line in order.lines.all())

    # a line left unpacked: the form comes back with an error, nothing is done
    with pytest.raises(InvalidForm) as refused:
        run.complete("package", packer, weight_kg=5)
    required = ["This field is required."]
    assert refused.value.errors == {"lines-0-packed": required, "lines-1-packed": required}
    assert run.task("package").status == TaskStatus.ASSIGNED and run.process.weight_kg == 0
    # the page sent back shows the stored process in its side panel, and keeps what was typed
    packing, url = client_for(packer), task_url(run.task("package"))
    response = packing.post(url, browser_data(packing.get(url), {"weight_kg": 5}))
    assert response.context["process"].weight_kg == 0 and response.context["form"]["weight_kg"].value() == "5"

    run.complete("package", packer, all_packed(run), weight_kg=5)
    assert all(line.packed for line in run.process.lines.all())
    assert run.task("prepared").status == TaskStatus.STARTED  # still waiting for the payment

    run.run("wait_payment", run.pk, "PAY-42")  # the payment provider's webhook
    order = run.process
    assert order.payment_reference == "PAY-42"
    assert order.carrier == "Post" and order.tracking_number == f"PO{order.pk:08d}"
    confirm = run.task("confirm")
    assert confirm.status == TaskStatus.ASSIGNED and confirm.owner == clerk  # .Assign(this.start.owner)
    assert task_url(confirm) in client_for(clerk).get("/flows/inbox/").content.decode()

    run.complete("confirm", delivered=True)  # its owner, the clerk, does it
    run.assert_status("DONE").assert_path(
        "start", "prepare", [("package",), ("reserve_stock",), ("wait_payment",)],
        "prepared", "choose_carrier", "post", "confirm", "end",
    )
    assert run.process.delivered


def test_express_order_goes_to_the_packer_for_the_courier(orders, clerk, packer):
    run = start_order(orders, clerk, customer="Fast", express=True)
    assert "wait_payment" not in run.nodes()  # prepaid: that branch was not started
    run.complete("package", packer, all_packed(run), weight_kg=2)
    courier = run.task("courier")
    assert courier.status == TaskStatus.ASSIGNED and courier.owner == packer  # .Assign(this.package.owner)
    run.complete("courier", tracking_number="DHL-1")
    assert run.task("confirm").owner == clerk
    run.complete("confirm", delivered=True)
    run.assert_status("DONE").assert_path(
        "start", "prepare", {"package", "reserve_stock"}, "prepared", "choose_carrier", "courier", "confirm", "end"
    )
    assert run.process.tracking_number == "DHL-1"


def test_heavy_order_goes_by_freight_through_the_queue(orders, clerk, packer, client_for):
    run = start_order(orders, clerk, customer="Heavy")
    run.complete("package", packer, all_packed(run), weight_kg="120.5")
    freight = run.task("freight")
    assert freight.status == TaskStatus.NEW and freight.owner is None
    assert freight.owner_permission == "orders.can_freight_orderprocess"
    assert task_url(freight, "assign") in client_for(packer).get("/flows/queue/").content.decode()
    run.complete("freight", packer, carrier="Cargo Ltd", tracking_number="CG-7")
    run.complete("confirm", delivered=False)
    run.assert_status("DONE")
    assert run.nodes()[-4:] == ["choose_carrier", "freight", "confirm", "end"]
    assert run.process.carrier == "Cargo Ltd"


def test_negative_weight_is_refused_with_the_forms_message(orders, clerk, packer):
    run = start_order(orders, clerk, customer="Light")
    with pytest.raises(InvalidForm) as refused:
        run.complete("package", packer, all_packed(run), weight_kg="-3")
    assert refused.value.errors == {"weight_kg": ["Ensure this value is greater than or equal to 0."]}
    assert run.process.weight_kg == 0 and run.task("package").status == TaskStatus.ASSIGNED
    done = run.complete("package", packer, all_packed(run), weight_kg="0.5")  # corrected: the flow goes on
    assert done.status == TaskStatus.DONE


def test_order_without_lines_is_refused(orders, clerk):
    with pytest.raises(InvalidForm) as refused:
        start_order(orders, clerk, lines=())
    assert refused.value.errors["lines"] == ["Please submit at least 1 form."]
    assert not OrderFlow.process_cls.objects.exists()


def test_payment_for_an_unknown_order_is_an_error(orders):
    from viewflow.exceptions import FlowRuntimeError

    with pytest.raises(FlowRuntimeError, match="no waiting task"):
        orders.run("wait_payment", 12345, "PAY-0")


def test_wholesale_order_ships_a_parcel_per_warehouse_as_child_processes(flow_tester, flow_user):
    clerk = flow_user("wholesaler", WholesaleFlow.start)
    shipper = flow_user("shipper", ParcelFlow.ship)
    run = flow_tester(WholesaleFlow).start(clerk, customer="ACME", warehouses="Berlin, Hamburg")
    run.assert_path("start", "ship_parcels").assert_status("STARTED")
    berlin, hamburg = run.children("ship_parcels")
    assert (berlin.process.warehouse, hamburg.process.warehouse) == ("Berlin", "Hamburg")
    assert berlin.flow_class is ParcelFlow and isinstance(berlin.process, ParcelFlow.process_cls)

    berlin.complete("ship", shipper, tracking_number="TN-1")
    berlin.assert_status("DONE").assert_path("start", "ship", "end")
    assert run.task("ship_parcels").status == TaskStatus.STARTED  # waits for Hamburg's parcel
    hamburg.complete("ship", shipper, tracking_number="TN-2")
    run.assert_status("DONE").assert_path("start", "ship_parcels", "mark_shipped", "end")
    assert run.process.shipped


# -- leave -----------------------------------------------------------------------


@pytest.fixture
def leaves(flow_tester):
    return flow_tester(LeaveFlow)


@pytest.fixture
def employee(flow_user):
    return flow_user("employee", LeaveFlow.start, "leave.view_leaveprocess")


@pytest.fixture
def manager(flow_user):
    return flow_user("manager", LeaveFlow.manager_approval, "leave.view_leaveprocess")


@pytest.fixture
def director(flow_user):
    return flow_user("director", LeaveFlow.director_approval, "leave.view_leaveprocess")


def ask_for_leave(leaves, employee, days, reason="holiday"):
    return leaves.start(employee, first_day=datetime.date(2026, 7, 1), days=days, reason=reason)


def test_short_leave_is_approved_booked_and_closed_by_the_signal(leaves, employee, manager):
    run = ask_for_leave(leaves, employee, 3)
    run.complete("manager_approval", manager, approved=True)
    assert run.process.booked and not run.process.escalated
    assert run.task("wait_return").status == TaskStatus.NEW
    run.assert_status("STARTED")

    # a signal about another process changes nothing here
    other = leaves.run("import_request", datetime.date(2026, 8, 1), 1)
    other.send(employee_returned, sender=LeaveFlow.process_cls, returned_on=datetime.date(2026, 8, 2))
    run.assert_status("STARTED")

    run.send(employee_returned, sender=LeaveFlow.process_cls, returned_on=datetime.date(2026, 7, 6))
    run.assert_status("DONE").assert_path("start", "manager_approval", "decide", "book", "wait_return", "end")
    assert run.process.returned_on == datetime.date(2026, 7, 6)


def test_long_leave_escalates_to_the_director(leaves, employee, manager, director):
    LongLeavePolicy.objects.create(max_days=5)
    run = ask_for_leave(leaves, employee, 8)
    run.complete("manager_approval", manager, approved=True)
    assert run.process.escalated and not run.process.booked
    assert run.task("director_approval").status == TaskStatus.NEW
    with pytest.raises(FlowTestError, match="answered 403"):  # the manager may not take the director's task
        run.claim("director_approval", manager)
    run.complete("director_approval", director, director_approved=True, comment="enjoy")
    assert run.process.booked and run.process.comment == "enjoy"
    run.assert_path("start", "manager_approval", "decide", "escalate", "director_approval", "check_director", "book",
                    "wait_return")


def test_rejected_leave_goes_back_to_the_employee(leaves, employee, manager, director, client_for):
    run = ask_for_leave(leaves, employee, 20, reason="world tour")
    run.complete("manager_approval", manager, approved=True)
    run.complete("director_approval", director, comment="not now")
    rejected = run.task("rejected")
    assert rejected.status == TaskStatus.ASSIGNED and rejected.owner == employee  # .Assign(this.start.owner)
    assert "not approved" in client_for(employee).get(task_url(rejected)).content.decode()
    run.complete("rejected")
    run.assert_status("DONE").assert_path(
        "start", "manager_approval", "decide", "escalate", "director_approval", "check_director", "rejected", "end"
    )
    assert not run.process.booked


def test_manager_rejection_skips_the_director(leaves, employee, manager):
    run = ask_for_leave(leaves, employee, 30, reason="too long")
    run.complete("manager_approval", manager, comment="no")
    assert run.task("rejected").owner == employee
    run.assert_path("start", "manager_approval", "decide", "rejected")


def test_the_rejection_of_an_imported_request_waits_for_a_manager(leaves, manager):
    """Nobody started it through the site, so ``this.start.owner`` is nobody: the managers' queue has it."""
    run = leaves.run("import_request", datetime.date(2026, 9, 1), 2, reason="imported")
    run.complete("manager_approval", manager, comment="no")
    rejected = run.task("rejected")
    assert rejected.status == TaskStatus.NEW and rejected.owner is None
    run.complete("rejected", manager)
    run.assert_status("DONE").assert_path("import_request", "manager_approval", "decide", "rejected", "end")


def test_imported_request_starts_from_code_and_the_admin_action_sends_the_signal(leaves, manager, flow_user,
                                                                                 client_for):
    run = leaves.run("import_request", datetime.date(2026, 9, 1), 2, reason="imported")
    assert run.status == ProcessStatus.STARTED and run.process.days == 2
    run.complete("manager_approval", manager, approved=True)
    admin = client_for(flow_user("root", superuser=True))
    with run.committed():
        response = admin.post(
            "/admin/leave/leaveprocess/", {"action": "mark_returned", "_selected_action": [run.pk]}, follow=True
        )
    assert response.status_code == 200
    run.assert_status("DONE")
    assert run.process.returned_on is not None


def booked_leave(leaves, employee, manager):
    run = ask_for_leave(leaves, employee, 3)
    run.complete("manager_approval", manager, approved=True)
    assert run.task("wait_return").status == TaskStatus.NEW
    return run


def staff(flow_user, name, *permissions):
    user = flow_user(name, *permissions)
    user.is_staff = True
    user.save()
    return user


def post_back_at_work(client, run):
    data = {"action": "mark_returned", "_selected_action": [run.pk]}
    with run.committed():
        response = client.post("/admin/leave/leaveprocess/", data, follow=True)
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_back_at_work_is_not_offered_to_staff_who_may_only_view(leaves, employee, manager, flow_user, client_for):
    run = booked_leave(leaves, employee, manager)
    viewer = client_for(staff(flow_user, "viewer", "leave.view_leaveprocess"))
    assert "Employee is back at work" not in viewer.get("/admin/leave/leaveprocess/").content.decode()
    assert post_back_at_work(viewer, run) == []  # no action to run: nothing done, nothing said
    assert run.task("wait_return").status == TaskStatus.NEW


def test_back_at_work_is_refused_by_the_engine_to_who_may_not_manage_the_flow(
    leaves, employee, manager, flow_user, client_for
):
    run = booked_leave(leaves, employee, manager)
    editor = client_for(staff(flow_user, "editor", "leave.view_leaveprocess", "leave.change_leaveprocess"))
    messages = post_back_at_work(editor, run)
    assert len(messages) == 1 and "may not resume" in messages[0]
    assert run.task("wait_return").status == TaskStatus.NEW
    assert run.process.returned_on is None


def test_back_at_work_closes_the_leave_for_a_manager_of_the_flow(leaves, employee, manager, flow_user, client_for):
    run = booked_leave(leaves, employee, manager)
    boss = client_for(
        staff(flow_user, "boss", "leave.view_leaveprocess", "leave.change_leaveprocess", "viewflow.change_task")
    )
    assert post_back_at_work(boss, run) == ["1 leave request closed: the employee is back at work."]
    run.assert_status("DONE")
    assert run.process.returned_on is not None


def test_resume_by_a_user_checks_they_manage_the_flow(leaves, employee, manager, flow_user):
    from django.core.exceptions import PermissionDenied

    from viewflow import operations

    run = booked_leave(leaves, employee, manager)
    task = run.task("wait_return")
    payload = {"sender": LeaveFlow.process_cls, "process": run.process, "returned_on": datetime.date(2026, 7, 6)}
    with pytest.raises(PermissionDenied, match="may not resume"):
        operations.resume(task, by=manager, **payload)  # approves leaves, does not manage the flow
    assert run.task("wait_return").status == TaskStatus.NEW
    with run.committed():
        assert operations.resume(task, by=flow_user("root", superuser=True), **payload).status == TaskStatus.DONE
    run.assert_status("DONE")


# -- demo users ------------------------------------------------------------------


def test_demo_users_get_the_permissions_of_their_role(django_user_model):
    from io import StringIO

    from demo.management.commands.demo_users import USERS, Command

    out = StringIO()
    call_command(Command(), stdout=out)
    assert "clerk / clerk" in out.getvalue()
    for username, (_password, superuser, codenames) in USERS.items():
        user = django_user_model.objects.get(username=username)
        assert user.is_superuser == superuser
        assert user.check_password(username)
        assert sorted(user.user_permissions.values_list("codename", flat=True)) == sorted(codenames)
    packer = django_user_model.objects.get(username="packer")
    assert packer.has_perm("orders.can_package_orderprocess")


def test_back_at_work_admin_action_counts_only_the_leaves_it_closed(leaves, employee, manager, flow_user, client_for):
    booked = ask_for_leave(leaves, employee, 3)
    booked.complete("manager_approval", manager, approved=True)
    waiting_for_manager = ask_for_leave(leaves, employee, 2, reason="a long weekend")
    assert booked.task("wait_return").status == TaskStatus.NEW
    assert "wait_return" not in waiting_for_manager.nodes()

    admin = client_for(flow_user("boss", superuser=True))
    changelist = admin.get("/admin/leave/leaveprocess/").content.decode()
    assert "Employee is back at work" in changelist
    data = {"action": "mark_returned", "_selected_action": [booked.pk, waiting_for_manager.pk]}
    response = admin.post("/admin/leave/leaveprocess/", data, follow=True)
    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        "1 leave request closed: the employee is back at work.",
        "1 leave request skipped: it was not waiting for the employee's return.",
    ]
    booked.assert_status("DONE")
    assert booked.process.returned_on is not None

    # again: nothing is waiting any more, nothing is reported as sent
    response = admin.post("/admin/leave/leaveprocess/", data, follow=True)
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["2 leave requests skipped: they were not waiting for the employees' return."]


def test_a_waiting_leave_request_reminds_the_manager_then_goes_to_a_director(leaves, employee):
    from leave.flows import ESCALATE_AFTER, REMIND_AFTER

    run = ask_for_leave(leaves, employee, 3)
    approval = run.task("manager_approval")
    assert abs(approval.due - (approval.created + ESCALATE_AFTER)) < datetime.timedelta(seconds=1)
    leaves.advance(REMIND_AFTER + datetime.timedelta(seconds=1))
    assert run.process.reminders == 1 and not run.process.escalated
    assert run.task("manager_approval").status == TaskStatus.NEW  # a reminder leaves the task
    leaves.advance(ESCALATE_AFTER - REMIND_AFTER)
    assert run.process.escalated and run.process.reminders == 1
    assert run.task("director_approval").status == TaskStatus.NEW
    run.assert_path(
        "start", "manager_approval", "manager_approval__deadline", "manager_approval__deadline2", "remind_manager",
        "escalate", "director_approval",
    )
