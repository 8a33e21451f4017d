"""The demo's order shipment and leave approval flows, walked end to end."""

import datetime

import pytest
from django.core.management import call_command

from leave.flows import LeaveFlow
from leave.models import LeaveProcess, LongLeavePolicy
from leave.signals import employee_returned
from orders.flows import OrderFlow
from orders.models import OrderProcess
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.views.urls import task_url

pytestmark = pytest.mark.django_db(transaction=True)


def nodes_of(process):
    return {task.flow_task.name: task.status for task in process.task_set.order_by("pk")}


def task_of(process, node):
    return process.task_set.get(flow_task=node)


def claim_and_do(client, task, data):
    assert client.post(task_url(task, "assign")).status_code == 302
    return client.post(task_url(task), data)


# -- orders ----------------------------------------------------------------------


@pytest.fixture
def clerk(user_factory):
    return user_factory(
        "clerk", "orders.can_start_orderprocess", "orders.can_confirm_orderprocess", "orders.view_orderprocess"
    )


@pytest.fixture
def packer(user_factory):
    return user_factory(
        "packer",
        "orders.can_package_orderprocess",
        "orders.can_courier_orderprocess",
        "orders.can_freight_orderprocess",
        "orders.view_orderprocess",
    )


def order_form(customer="ACME", express=False, prepaid=True, lines=(("Bolts", 3), ("Nuts", 5))):
    data = {"customer": customer, "address": "1 Main St", "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0"}
    data.update({"lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "1000"})
    if express:
        data["express"] = "on"
    if prepaid:
        data["prepaid"] = "on"
    for n in range(3):  # as a browser sends it: the empty extra lines keep their initial quantity
        product, quantity = lines[n] if n < len(lines) else ("", 1)
        data[f"lines-{n}-product"], data[f"lines-{n}-quantity"] = product, str(quantity)
    return data


def pack_form(order, weight, packed=True):
    lines = list(order.lines.order_by("pk"))
    data = {"weight_kg": str(weight), "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": str(len(lines))}
    data.update({"lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000"})
    for n, line in enumerate(lines):
        data[f"lines-{n}-id"], data[f"lines-{n}-order"] = str(line.pk), str(order.pk)
        if packed:
            data[f"lines-{n}-packed"] = "on"
    return data


def start_order(client, **kwargs):
    page = client.get("/flows/order/start/")
    assert page.status_code == 200 and 'name="lines-0-product"' in page.content.decode()
    response = client.post("/flows/order/start/", order_form(**kwargs))
    assert response.status_code == 302, response.content.decode()[-3000:]
    return OrderProcess.objects.get(customer=kwargs.get("customer", "ACME"))


def test_order_by_post_waits_for_payment_then_the_clerk_confirms(clerk, packer, client_for):
    order = start_order(client_for(clerk), prepaid=False)
    assert [str(line) for line in order.lines.order_by("pk")] == ["3 × Bolts", "5 × Nuts"]
    # three branches: packing and payment wait, the stock job ran after the start committed
    assert nodes_of(order) == {
        "start": "DONE",
        "prepare": "DONE",
        "package": "NEW",
        "wait_payment": "NEW",
        "reserve_stock": "DONE",
        "prepared": "STARTED",  # the join, reached by the job, waits for the other two
    }
    assert task_of(order, OrderFlow.start).owner == clerk
    assert all(line.reserved for line in order.lines.all())

    packer_client = client_for(packer)
    package = task_of(order, OrderFlow.package)
    page = packer_client.get(task_url(package))
    assert page.status_code == 302  # not claimed yet: sent to claim it
    # a line left unpacked: the form comes back with an error, nothing is done
    response = claim_and_do(packer_client, package, pack_form(order, 5, packed=False))
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert response.context["process"].weight_kg == 0  # the side panel shows what is stored, not what was typed
    assert response.context["form"]["weight_kg"].value() == "5"  # the form keeps it to send again
    assert task_of(order, OrderFlow.package).status == TaskStatus.ASSIGNED
    response = packer_client.post(task_url(package), pack_form(order, 5))
    assert response.status_code == 302
    assert all(line.packed for line in order.lines.all())
    assert task_of(order, OrderFlow.prepared).status == TaskStatus.STARTED  # still waiting for the payment

    OrderFlow.wait_payment.run(order.pk, "PAY-42")  # the payment provider's webhook
    order.refresh_from_db()
    assert order.payment_reference == "PAY-42"
    assert order.carrier == "Post" and order.tracking_number == f"PO{order.pk:08d}"
    confirm = task_of(order, OrderFlow.confirm)
    assert confirm.status == TaskStatus.ASSIGNED and confirm.owner == clerk  # .Assign(this.start.owner)

    clerk_client = client_for(clerk)
    assert task_url(confirm) in clerk_client.get("/flows/inbox/").content.decode()
    assert clerk_client.post(task_url(confirm), {"delivered": "on"}).status_code == 302
    order.refresh_from_db()
    assert order.status == ProcessStatus.DONE and order.delivered
    assert nodes_of(order)["choose_carrier"] == "DONE" and nodes_of(order)["end"] == "DONE"
    assert "courier" not in nodes_of(order) and "freight" not in nodes_of(order)


def test_express_order_goes_to_the_packer_for_the_courier(clerk, packer, client_for):
    order = start_order(client_for(clerk), customer="Fast", express=True)
    assert "wait_payment" not in nodes_of(order)  # prepaid: that branch was not started
    packer_client = client_for(packer)
    claim_and_do(packer_client, task_of(order, OrderFlow.package), pack_form(order, 2))
    courier = task_of(order, OrderFlow.courier)
    assert courier.status == TaskStatus.ASSIGNED and courier.owner == packer  # .Assign(this.package.owner)
    assert packer_client.post(task_url(courier), {"tracking_number": "DHL-1"}).status_code == 302
    confirm = task_of(order, OrderFlow.confirm)
    assert confirm.owner == clerk
    with confirm.activation() as activation:
        activation.done(by=clerk)
    order.refresh_from_db()
    assert order.status == ProcessStatus.DONE and order.tracking_number == "DHL-1"


def test_heavy_order_goes_by_freight_to_the_queue(clerk, packer, client_for):
    order = start_order(client_for(clerk), customer="Heavy")
    claim_and_do(client_for(packer), task_of(order, OrderFlow.package), pack_form(order, "120.5"))
    freight = task_of(order, OrderFlow.freight)
    assert freight.status == TaskStatus.NEW and freight.owner is None
    assert freight.owner_permission == "orders.can_freight_orderprocess"
    assert task_url(freight, "assign") in client_for(packer).get("/flows/queue/").content.decode()


def test_negative_weight_is_refused_with_the_form_again(clerk, packer, client_for):
    order = start_order(client_for(clerk), customer="Light")
    packing = client_for(packer)
    task = task_of(order, OrderFlow.package)
    assert packing.post(task_url(task, "assign")).status_code == 302
    response = packing.post(task_url(task), pack_form(order, "-3"))
    assert response.status_code == 200
    assert response.context["form"].errors["weight_kg"] == ["Ensure this value is greater than or equal to 0."]
    order.refresh_from_db()
    assert order.weight_kg == 0 and task_of(order, OrderFlow.package).status == TaskStatus.ASSIGNED
    response = packing.post(task_url(task), pack_form(order, "0.5"))  # corrected: the flow goes on
    assert response.status_code == 302
    assert task_of(order, OrderFlow.package).status == TaskStatus.DONE


def test_order_without_lines_is_refused(clerk, client_for):
    response = client_for(clerk).post("/flows/order/start/", order_form(lines=()))
    assert response.status_code == 200
    assert "Please submit at least 1 form" in response.content.decode()
    assert not OrderProcess.objects.exists()


def test_payment_for_an_unknown_order_is_an_error():
    from viewflow.exceptions import FlowRuntimeError

    with pytest.raises(FlowRuntimeError, match="no waiting task"):
        OrderFlow.wait_payment.run(12345, "PAY-0")


# -- leave -----------------------------------------------------------------------


@pytest.fixture
def employee(user_factory):
    return user_factory("employee", "leave.can_start_leaveprocess", "leave.view_leaveprocess")


@pytest.fixture
def manager(user_factory):
    return user_factory("manager", "leave.can_manager_approval_leaveprocess", "leave.view_leaveprocess")


@pytest.fixture
def director(user_factory):
    return user_factory("director", "leave.can_director_approval_leaveprocess", "leave.view_leaveprocess")


def ask_for_leave(client, days, reason="holiday"):
    response = client.post("/flows/leave/start/", {"first_day": "2026-07-01", "days": days, "reason": reason})
    assert response.status_code == 302
    return LeaveProcess.objects.get(reason=reason)


def test_short_leave_is_approved_booked_and_closed_by_the_signal(employee, manager, client_for):
    leave = ask_for_leave(client_for(employee), 3)
    claim_and_do(client_for(manager), task_of(leave, LeaveFlow.manager_approval), {"approved": "on"})
    leave.refresh_from_db()
    assert leave.booked and not leave.escalated
    assert nodes_of(leave)["wait_return"] == TaskStatus.NEW
    assert leave.status == ProcessStatus.STARTED

    # a signal about another process changes nothing here
    other = LeaveFlow.import_request.run(datetime.date(2026, 8, 1), 1)
    employee_returned.send(sender=LeaveProcess, process=other, returned_on=datetime.date(2026, 8, 2))
    leave.refresh_from_db()
    assert leave.status == ProcessStatus.STARTED

    employee_returned.send(sender=LeaveProcess, process=leave, returned_on=datetime.date(2026, 7, 6))
    leave.refresh_from_db()
    assert leave.status == ProcessStatus.DONE and leave.returned_on == datetime.date(2026, 7, 6)
    assert list(nodes_of(leave)) == ["start", "manager_approval", "decide", "book", "wait_return", "end"]


def test_long_leave_escalates_to_the_director(employee, manager, director, client_for):
    LongLeavePolicy.objects.create(max_days=5)
    leave = ask_for_leave(client_for(employee), 8)
    claim_and_do(client_for(manager), task_of(leave, LeaveFlow.manager_approval), {"approved": "on"})
    leave.refresh_from_db()
    assert leave.escalated and not leave.booked
    director_task = task_of(leave, LeaveFlow.director_approval)
    assert director_task.status == TaskStatus.NEW
    # the manager may not take the director's task
    assert client_for(manager).post(task_url(director_task, "assign")).status_code == 403
    claim_and_do(client_for(director), director_task, {"director_approved": "on", "comment": "enjoy"})
    leave.refresh_from_db()
    assert leave.booked and leave.comment == "enjoy"
    assert nodes_of(leave)["check_director"] == "DONE" and nodes_of(leave)["wait_return"] == "NEW"


def test_rejected_leave_goes_back_to_the_employee(employee, manager, director, client_for):
    leave = ask_for_leave(client_for(employee), 20, reason="world tour")
    claim_and_do(client_for(manager), task_of(leave, LeaveFlow.manager_approval), {"approved": "on"})
    claim_and_do(client_for(director), task_of(leave, LeaveFlow.director_approval), {"comment": "not now"})
    rejected = task_of(leave, LeaveFlow.rejected)
    assert rejected.status == TaskStatus.ASSIGNED and rejected.owner == employee  # .Assign(this.start.owner)
    employee_client = client_for(employee)
    page = employee_client.get(task_url(rejected))
    assert page.status_code == 200 and "not approved" in page.content.decode()
    assert employee_client.post(task_url(rejected), {}).status_code == 302
    leave.refresh_from_db()
    assert leave.status == ProcessStatus.DONE and not leave.booked


def test_manager_rejection_skips_the_director(employee, manager, client_for):
    leave = ask_for_leave(client_for(employee), 30, reason="too long")
    claim_and_do(client_for(manager), task_of(leave, LeaveFlow.manager_approval), {"comment": "no"})
    assert "director_approval" not in nodes_of(leave)
    assert task_of(leave, LeaveFlow.rejected).owner == employee


def test_the_rejection_of_an_imported_request_waits_for_a_manager(manager, client_for):
    """Nobody started it through the site, so ``this.start.owner`` is nobody: the managers' queue has it."""
    leave = LeaveFlow.import_request.run(datetime.date(2026, 9, 1), 2, reason="imported")
    claim_and_do(client_for(manager), task_of(leave, LeaveFlow.manager_approval), {"comment": "no"})
    rejected = task_of(leave, LeaveFlow.rejected)
    assert rejected.status == TaskStatus.NEW and rejected.owner is None
    claim_and_do(client_for(manager), rejected, {})
    leave.refresh_from_db()
    assert leave.status == ProcessStatus.DONE and not leave.booked


def test_imported_request_starts_from_code_and_admin_action_sends_the_signal(user_factory, client_for):
    leave = LeaveFlow.import_request.run(datetime.date(2026, 9, 1), 2, reason="imported")
    assert leave.status == ProcessStatus.STARTED and leave.days == 2
    task = task_of(leave, LeaveFlow.manager_approval)
    with task.activation() as activation:
        activation.assign(user_factory("boss", superuser=True))
        activation.process.approved = True
        activation.process.save(update_fields=["approved"])
        activation.done()
    admin = client_for(user_factory("root", superuser=True))
    response = admin.post(
        "/admin/leave/leaveprocess/", {"action": "mark_returned", "_selected_action": [leave.pk]}, follow=True
    )
    assert response.status_code == 200
    leave.refresh_from_db()
    assert leave.status == ProcessStatus.DONE and leave.returned_on is not None


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


def test_back_at_work_admin_action_counts_only_the_leaves_it_closed(employee, manager, user_factory, client_for):
    booked = ask_for_leave(client_for(employee), 3)
    claim_and_do(client_for(manager), task_of(booked, LeaveFlow.manager_approval), {"approved": "on"})
    waiting_for_manager = ask_for_leave(client_for(employee), 2, reason="a long weekend")
    assert nodes_of(booked)["wait_return"] == TaskStatus.NEW
    assert "wait_return" not in nodes_of(waiting_for_manager)

    admin = client_for(user_factory("boss", superuser=True))
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
    booked.refresh_from_db()
    assert booked.status == ProcessStatus.DONE and booked.returned_on is not None

    # again: nothing is waiting any more, nothing is reported as sent
    response = admin.post("/admin/leave/leaveprocess/", data, follow=True)
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["2 leave requests skipped: they were not waiting for the employees' return."]
