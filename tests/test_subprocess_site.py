"""Subprocesses on the site and in the admin: pages link parent and children, a child's task done by a person.

Walked by links and buttons, as a person would (tests/browsing.py).
"""

import re

import pytest

from tests.browsing import Visitor
from tests.testapp.models import SampleProcess
from tests.testapp.subprocess_flows import GrandParentFlow, NParentFlow, ParentFlow, ViewParentFlow, WaitingChildFlow
from viewflow.chart import render_svg
from viewflow.models import Task
from viewflow.status import ProcessStatus

pytestmark = pytest.mark.django_db


def visitor_for(user):
    visitor = Visitor()
    visitor.client.force_login(user)
    return visitor


def test_a_childs_last_task_done_through_the_site_moves_the_parent_on(user_factory):
    approver = user_factory("approver", "testapp.can_approve_sampleprocess")
    manager = user_factory("boss", superuser=True)
    parent = ViewParentFlow.start.run()
    (child,) = SampleProcess.objects.filter(parent_task__process_id=parent.pk)

    # from the parent's page to its child's, by the link the page shows
    boss = visitor_for(manager).open(f"/flows/viewparent/{parent.pk}/")
    assert "Subprocesses" in boss.text
    boss.follow(f"#{child.pk}")
    assert boss.url == f"/flows/viewchild/{child.pk}/"
    assert "Started by" in boss.text
    boss.follow(f"#{parent.pk}")  # and back to the parent
    assert boss.url == f"/flows/viewparent/{parent.pk}/"

    person = visitor_for(approver).open("/flows/queue/")
    person.follow("Claim").submit("Claim")
    person.submit("Done", approved=True)
    assert SampleProcess.objects.get(pk=child.pk).status == ProcessStatus.DONE
    parent = SampleProcess.objects.get(pk=parent.pk)
    assert parent.status == ProcessStatus.DONE and parent.count == 1
    assert Task.objects.filter(process_id=parent.pk, flow_task=ViewParentFlow.after).count() == 1


def test_the_parents_page_lists_its_children_with_their_status(user_factory, django_assert_max_num_queries):
    manager = user_factory("boss", superuser=True)
    parent = NParentFlow.start.run(["a", "b", "c"])
    kids = list(SampleProcess.objects.filter(parent_task__process_id=parent.pk).order_by("pk"))
    WaitingChildFlow.wait.run(Task.objects.get(process_id=kids[0].pk, flow_task=WaitingChildFlow.wait))
    visitor = visitor_for(manager)
    visitor.open(f"/flows/nparent/{parent.pk}/")  # warm: sessions, permissions
    with django_assert_max_num_queries(20):
        visitor.open(f"/flows/nparent/{parent.pk}/")
    section = visitor.html[visitor.html.index("vf-subprocesses"):]
    section = section[: section.index("</section>")]
    for kid in kids:
        assert f'href="/flows/waitingchild/{kid.pk}/"' not in section  # WaitingChildFlow is not on the site
        assert f"#{kid.pk}" in section
    badges = re.findall(r'<span class="badge[^"]*"[^>]*>([^<]+)</span>', section)
    assert sorted(badge.strip() for badge in badges) == ["Done", "Started", "Started"]


def test_the_process_list_can_leave_out_subprocesses(user_factory):
    manager = user_factory("boss", superuser=True)
    top = ParentFlow.start.run(text="top")
    grand = GrandParentFlow.start.run()
    (child_parent,) = SampleProcess.objects.filter(parent_task__process_id=grand.pk)
    visitor = visitor_for(manager).open("/flows/parent/")
    assert f"#{top.pk}" in visitor.text and f"#{child_parent.pk}" in visitor.text
    visitor.submit("Search", top="1")  # the box "Top-level processes only", ticked
    assert visitor.response.wsgi_request.GET.get("top") == "1"
    assert f"#{top.pk}" in visitor.text and f"#{child_parent.pk}" not in visitor.text
    visitor.follow(re.compile(r"^Started"))  # a status pill keeps the filter
    assert f"#{top.pk}" in visitor.text and f"#{child_parent.pk}" not in visitor.text


def test_the_admin_filters_top_level_processes_and_links_the_parent(admin_client):
    parent = ParentFlow.start.run()
    (child,) = SampleProcess.objects.filter(parent_task__process_id=parent.pk)
    listing = admin_client.get("/admin/viewflow/process/?started_by=top").content.decode()
    assert f"/admin/viewflow/process/{parent.pk}/change/" in listing
    assert f"/admin/viewflow/process/{child.pk}/change/" not in listing
    listing = admin_client.get("/admin/viewflow/process/?started_by=process").content.decode()
    assert f"/admin/viewflow/process/{child.pk}/change/" in listing
    page = admin_client.get(f"/admin/viewflow/process/{child.pk}/change/").content.decode()
    assert f'href="/admin/viewflow/process/{parent.pk}/change/"' in page


def test_the_chart_marks_subprocess_nodes():
    nodes = {
        re.search(r'data-node="(\w+)"', part).group(1): part
        for part in render_svg(NParentFlow).split('<g class="vf-node')[1:]
    }
    assert nodes["subs"].startswith(' vf-task vf-subprocess"')  # drawn as a task box, with a thick border
    assert "vf-subprocess-mark" in nodes["subs"] and "vf-multi" in nodes["subs"]
    assert "subprocesses" in nodes["subs"].lower()
    assert "vf-subprocess" not in nodes["after"]


def test_the_demos_wholesale_order_ships_one_parcel_per_warehouse_by_links(user_factory):
    """The demo (orders.flows.WholesaleFlow): a clerk starts it, a packer ships each parcel, the order is shipped."""
    from orders.models import ParcelProcess, WholesaleProcess

    clerk = visitor_for(user_factory("clerk", "orders.can_start_wholesaleprocess"))
    clerk.open("/flows/wholesale/").follow("Start").submit("Start", customer="ACME", warehouses="Berlin, Hamburg")
    order = WholesaleProcess.objects.get(customer="ACME")
    parcels = ParcelProcess.objects.filter(parent_task__process_id=order.pk).order_by("pk")
    assert [parcel.warehouse for parcel in parcels] == ["Berlin", "Hamburg"]

    packer = visitor_for(user_factory("packer", "orders.can_ship_parcelprocess"))
    for number in ("TN-1", "TN-2"):
        packer.open("/flows/queue/").follow("Claim").submit("Claim")
        packer.submit("Done", tracking_number=number)
    order.refresh_from_db()
    assert order.status == ProcessStatus.DONE and order.shipped
    assert sorted(ParcelProcess.objects.values_list("tracking_number", flat=True)) == ["TN-1", "TN-2"]


def test_a_child_is_linked_only_for_users_who_may_see_its_flow(user_factory):
    """The parent's page names every child, but links only those the user may see (the child flow's policy)."""
    approver = user_factory("approver", "testapp.can_approve_sampleprocess")  # sees ViewChildFlow, not the parent
    parent_viewer = user_factory("viewer", "testapp.view_sampleprocess")  # sees every flow of SampleProcess
    parent = ViewParentFlow.start.run()
    (child,) = SampleProcess.objects.filter(parent_task__process_id=parent.pk)
    page = visitor_for(parent_viewer).open(f"/flows/viewparent/{parent.pk}/")
    assert f'href="/flows/viewchild/{child.pk}/"' in page.html
    assert visitor_for(approver).open(f"/flows/viewparent/{parent.pk}/").status == 403
    child_page = visitor_for(approver).open(f"/flows/viewchild/{child.pk}/")
    assert child_page.status == 200 and "Started by" in child_page.text
    assert f'href="/flows/viewparent/{parent.pk}/"' not in child_page.html  # they may not see the parent's flow
