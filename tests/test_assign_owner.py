"""``.Assign(this.node.owner)`` when that node's task was done in the same step (found before it is written)."""

import pytest

from tests.testapp.ops_flows import OpsOwnerFlow
from viewflow.status import TaskStatus

pytestmark = pytest.mark.django_db  # no job or on-commit effect is needed: rolled back, fast


def test_task_right_after_start_goes_to_the_starter(user_factory):
    starter = user_factory("starter")
    with OpsOwnerFlow.start.start() as activation:
        activation.task.owner = starter  # what the start view does
        process = activation.done()
    assert process.task_set.get(flow_task=OpsOwnerFlow.start).owner == starter
    review = process.task_set.get(flow_task=OpsOwnerFlow.review)
    assert review.status == TaskStatus.ASSIGNED and review.owner == starter


def test_start_through_the_view_records_the_starter(user_factory, client_for):
    from django.test import override_settings
    from django.urls import include, path

    from viewflow.site import viewsite

    class urls:  # a URLconf built now, with the flow registered
        urlpatterns = [path("flows/", include(viewsite.urls))]

    starter = user_factory("starter", "testapp.can_start_sampleprocess")
    viewsite.register(OpsOwnerFlow)
    try:
        with override_settings(ROOT_URLCONF=urls):
            response = client_for(starter).post("/flows/opsowner/start/")
            process = OpsOwnerFlow.process_cls.objects.get(flow_class=OpsOwnerFlow)
            review = process.task_set.get(flow_task=OpsOwnerFlow.review)
            assert review.owner == starter
            assert response["Location"] == f"/flows/opsowner/{process.pk}/review/{review.pk}/"
    finally:
        viewsite.unregister(OpsOwnerFlow)
