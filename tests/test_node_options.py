"""Node options: permissions, who may start, titles and descriptions, a flow's own task class."""

import pytest
from django.core.exceptions import PermissionDenied

from tests.testapp.flows import AnnotatedFlow, AvailableFlow, CodeStartFlow, PermissionFlow, ProxyTaskFlow
from tests.testapp.models import SampleProcess, SampleTask
from tests.utils import do_task, fresh, task_of
from viewflow import flow
from viewflow.models import Task
from viewflow.permissions import task_permissions
from viewflow.status import ProcessStatus
from viewflow.views import StartView

pytestmark = pytest.mark.django_db


def test_task_cls_proxy_is_used_for_the_flow_tasks(user_factory):
    worker = user_factory("worker", "testapp.can_approve_sampleprocess")
    process = ProxyTaskFlow.start.run()
    task = task_of(process, ProxyTaskFlow.approve)
    assert type(task) is SampleTask and task.is_sample
    with task.activation() as activation:
        assert type(activation.task) is SampleTask
        activation.assign(worker, by=worker)
    do_task(task)
    assert fresh(process).status == ProcessStatus.DONE
    assert (
        SampleTask.objects.filter(process_id=process.pk).count()
        == Task.objects.filter(process_id=process.pk).count()
        == 3
    )


def test_permission_declared_in_the_model_meta(user_factory):
    reviewer = user_factory("reviewer", "testapp.review_sample")
    clerk = user_factory("clerk", "testapp.can_approve_sampleprocess")
    process = PermissionFlow.start.run("someone")
    review = task_of(process, PermissionFlow.review)
    assert review.owner_permission == "testapp.review_sample"
    assert "assign" in task_permissions(reviewer, review)
    assert "assign" not in task_permissions(clerk, review)
    with pytest.raises(PermissionDenied):
        with review.activation() as activation:
            activation.assign(clerk, by=clerk)
    with review.activation() as activation:
        activation.assign(reviewer, by=reviewer)


def test_object_permission_from_a_callable(user_factory):
    # tests.testapp.backends grants review_sample on a process whose text is the user's name
    alice = user_factory("alice", "testapp.review_sample")
    bob = user_factory("bob", "testapp.review_sample")
    process = PermissionFlow.start.run("alice")
    do_task(task_of(process, PermissionFlow.review), alice)
    own_review = task_of(process, PermissionFlow.own_review)
    assert "assign" not in task_permissions(bob, own_review)  # the global permission is not enough
    with pytest.raises(PermissionDenied):
        with own_review.activation() as activation:
            activation.assign(bob, by=bob)
    assert "assign" in task_permissions(alice, own_review)
    with own_review.activation() as activation:
        activation.assign(alice, by=alice)
    do_task(own_review)
    assert fresh(process).status == ProcessStatus.DONE


def test_start_available_to_a_callable_or_a_user_lookup(user_factory, client_for):
    anna = user_factory("anna")
    staff = user_factory("zed")
    staff.is_staff = True
    staff.save()
    nobody = user_factory("nobody")
    assert AvailableFlow.by_callable.can_execute(anna) and not AvailableFlow.by_callable.can_execute(staff)
    assert AvailableFlow.by_lookup.can_execute(staff) and not AvailableFlow.by_lookup.can_execute(anna)
    assert not AvailableFlow.by_callable.can_execute(nobody) and not AvailableFlow.by_lookup.can_execute(nobody)

    assert client_for(nobody).post("/flows/available/by_callable/", {}).status_code == 403
    assert client_for(staff).post("/flows/available/by_callable/", {}).status_code == 403
    assert client_for(anna).post("/flows/available/by_callable/", {}).status_code == 302
    assert client_for(staff).post("/flows/available/by_lookup/", {}).status_code == 302
    assert SampleProcess.objects.filter(status=ProcessStatus.DONE).count() == 2


def test_available_and_permission_together_need_both(user_factory, monkeypatch):
    anna = user_factory("anna")
    anna_with_perm = user_factory("annabel", "testapp.can_approve_sampleprocess")
    monkeypatch.setattr(AvailableFlow.by_callable, "_permission", "testapp.can_approve_sampleprocess")
    assert not AvailableFlow.by_callable.can_execute(anna)
    assert AvailableFlow.by_callable.can_execute(anna_with_perm)


def test_titles_and_descriptions_from_docstring_and_annotation():
    assert AnnotatedFlow.process_title == "Purchase order"
    assert AnnotatedFlow.process_description == "A request for goods is checked, then ordered."
    assert AnnotatedFlow.start.task_title == "Order goods"
    assert AnnotatedFlow.start.description == "Someone needs goods."
    assert AnnotatedFlow.check.task_title == "Check" and AnnotatedFlow.check.description == ""
    assert CodeStartFlow.process_title == "Started from code, a person approves it"
    assert AvailableFlow.process_title == "Available"  # no docstring: from the class name


def test_start_available_also_takes_the_user_lookup_as_keywords(user_factory):
    """``.Available(is_staff=True)`` (the lookup as keywords) raised a TypeError at import."""
    node = flow.Start(StartView).Available(is_staff=True)
    staff = user_factory("zed")
    staff.is_staff = True
    staff.save()
    assert node.can_execute(staff) and not node.can_execute(user_factory("anna"))
    with pytest.raises(TypeError, match="not both"):
        flow.Start(StartView).Available(lambda user: True, is_staff=True)
