"""Object permissions in the queue: a task whose permission is checked on an object is listed to who may claim it.

``GuardedReviewFlow.review`` is claimed with ``testapp.review_sample`` on the
sample itself (``obj=ProcessObject()``). django-guardian grants it per object
(to a user or a group); the tests' sample backend grants it on a sample whose
text is the user's name. The queue used to list the task to every holder of the
general permission, though the claim would refuse all but one of them.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import override_settings
from guardian.shortcuts import assign_perm

from tests.testapp.flows import PermissionFlow
from tests.testapp.guarded_flows import GuardedReviewFlow
from tests.testapp.models import DetailedSampleProcess, SampleProcess
from viewflow.models import Task
from viewflow.permissions import ProcessObject, objects_with_perm
from viewflow.views.lists import queue_filter
from viewflow.views.urls import task_url

pytestmark = pytest.mark.django_db

PERM = "testapp.review_sample"


@pytest.fixture
def samples():
    """Three guarded reviews waiting in the queue: for alice's sample, bob's, and "frank" (the sample backend's)."""
    processes = {text: GuardedReviewFlow.start.run(text=text) for text in ("alice's", "bob's", "frank")}
    return {text: process.task_set.get(flow_task=GuardedReviewFlow.review) for text, process in processes.items()}


def queue_of(user):
    return set(Task.objects.filter(queue_filter(user)).filter(flow_task=GuardedReviewFlow.review))


def test_the_general_permission_alone_no_longer_lists_a_guarded_task(user_factory, samples):
    carol = user_factory("carol", PERM)
    assert queue_of(carol) == set()
    assert not GuardedReviewFlow.review.can_assign(carol, samples["alice's"])  # and the claim agrees


def test_a_guardian_object_permission_lists_that_task_only(user_factory, samples):
    dave = user_factory("dave", PERM)
    assign_perm(PERM, dave, SampleProcess.objects.get(pk=samples["alice's"].process_id))
    assert queue_of(dave) == {samples["alice's"]}
    assert GuardedReviewFlow.review.can_assign(dave, samples["alice's"])


def test_a_queue_lists_by_permission_first_the_object_narrows_it(user_factory, samples):
    """The queue is the holders' of the permission (an index finds them); an object permission alone lists nothing."""
    olga = user_factory("olga")
    assign_perm(PERM, olga, SampleProcess.objects.get(pk=samples["alice's"].process_id))
    assert queue_of(olga) == set()
    assert GuardedReviewFlow.review.can_assign(olga, samples["alice's"])  # a link to it still lets her claim it


def test_a_group_object_permission_counts_too(user_factory, samples):
    reviewers = Group.objects.create(name="bob's reviewers")
    assign_perm(PERM, reviewers, SampleProcess.objects.get(pk=samples["bob's"].process_id))
    erin = user_factory("erin", PERM)
    erin.groups.add(reviewers)
    assert queue_of(erin) == {samples["bob's"]}


def test_another_backend_answers_through_objects_with_perm(user_factory, samples):
    frank = user_factory("frank", PERM)  # the sample backend grants it on the sample whose text is "frank"
    assert queue_of(frank) == {samples["frank"]}


def test_superusers_see_every_task_and_other_nodes_keep_the_general_rule(user_factory, samples):
    assert queue_of(user_factory("root", superuser=True)) == set(samples.values())
    carol = user_factory("carol", PERM)
    plain = PermissionFlow.start.run(text="x").task_set.get(flow_task=PermissionFlow.review)
    assert plain in set(Task.objects.filter(queue_filter(carol)))  # no obj=: the permission decides


def test_the_queue_page_and_its_count_follow_the_object_rule(user_factory, client_for, samples):
    dave = user_factory("dave", PERM)
    assign_perm(PERM, dave, SampleProcess.objects.get(pk=samples["bob's"].process_id))
    carol = user_factory("carol", PERM)
    for user, expected in ((dave, [samples["bob's"]]), (carol, [])):
        response = client_for(user).get("/flows/queue/", {"flow": "guardedreview"})
        assert response.status_code == 200
        assert list(response.context["object_list"]) == expected
    claim = client_for(dave).post(task_url(samples["bob's"], "assign"))
    assert claim.status_code == 302
    assert Task.objects.get(pk=samples["bob's"].pk).owner == dave


class UnlistingBackend:
    """An object-permission backend that cannot list its objects."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return obj is not None and perm == PERM


@override_settings(
    AUTHENTICATION_BACKENDS=[
        "django.contrib.auth.backends.ModelBackend",
        "tests.test_object_permissions.UnlistingBackend",
    ]
)
def test_a_backend_that_cannot_list_objects_leaves_the_queue_by_permission(user_factory, samples):
    carol = user_factory("carol", PERM)
    assert objects_with_perm(carol, PERM, SampleProcess) is None
    assert queue_of(carol) == set(samples.values())  # nobody can tell which it grants: as before


@override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"])
def test_with_model_backend_alone_no_object_is_granted(user_factory, samples):
    carol = user_factory("carol", PERM)
    assert not objects_with_perm(carol, PERM, SampleProcess).exists()
    assert queue_of(carol) == set()


def test_a_process_object_follows_a_path_both_ways(user_factory):
    detailed = DetailedSampleProcess.objects.create(flow_class=GuardedReviewFlow, text="d")
    rule = ProcessObject("sampleprocess_ptr")
    parent = rule(detailed)
    assert type(parent) is SampleProcess and parent.pk == detailed.pk
    assert rule.model(DetailedSampleProcess) is SampleProcess
    assert list(rule.processes(DetailedSampleProcess, SampleProcess.objects.filter(pk=detailed.pk))) == [
        {"pk": detailed.pk}
    ]
    assert ProcessObject()(detailed) is detailed and repr(rule) == "ProcessObject('sampleprocess_ptr')"
    assert Permission.objects.filter(codename="review_sample").exists()


def test_the_narrowed_queue_still_reads_the_queue_index(user_factory, samples):
    from django.db import connection

    carol = user_factory("carol", PERM)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # its tables are tiny here
    plan = Task.objects.filter(queue_filter(carol)).order_by("-created", "-pk")[:20].explain()
    assert "vf_task_queue" in plan
