"""A child whose last task is done through the REST API (issue 19) moves its parent on once.

Skipped while the REST API (``viewflow.contrib.rest``) is not installed in the test project.
"""

import pytest

from tests.testapp.models import SampleProcess
from tests.testapp.subprocess_flows import ViewChildFlow, ViewParentFlow
from viewflow.models import Task
from viewflow.status import ProcessStatus

pytestmark = pytest.mark.django_db


def test_a_childs_last_task_done_through_the_api_moves_the_parent_on_once(user_factory):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    approver = user_factory("approver", "testapp.can_approve_sampleprocess")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=approver)[0].key}")
    parent = ViewParentFlow.start.run()
    (child,) = SampleProcess.objects.filter(parent_task__process_id=parent.pk)
    task = Task.objects.get(process_id=child.pk, flow_task=ViewChildFlow.approve)
    url = f"/api/flows/{ViewChildFlow._meta.flow_label}/processes/{child.pk}/approve/{task.pk}/"
    assert client.post(url + "assign/", {}, format="json").status_code == 200
    response = client.post(url + "complete/", {"approved": True}, format="json")
    assert response.status_code == 200, response.content
    assert SampleProcess.objects.get(pk=child.pk).status == ProcessStatus.DONE
    parent = SampleProcess.objects.get(pk=parent.pk)
    assert parent.status == ProcessStatus.DONE and parent.count == 1
    assert Task.objects.filter(process_id=parent.pk, flow_task=ViewParentFlow.after).count() == 1
    again = client.post(url + "complete/", {"approved": True}, format="json")
    assert again.status_code == 409  # done already: a conflict, and the parent is not moved on again
    assert SampleProcess.objects.get(pk=parent.pk).count == 1
