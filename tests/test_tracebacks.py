"""A failed task's traceback is shown to the flow's managers only; others see that it failed.

A traceback carries what the failing code held: here a password in a URL.
"""

import pytest
from django.test import Client

from helloworld.flows import HelloWorldFlow
from helloworld.models import HelloWorldProcess
from viewflow.models import Task
from viewflow.permissions import can_see_error
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db

SECRET = "hunter2-s3cr3t"
TRACEBACK = f"Traceback (most recent call last):\nConnectionError: cannot reach smtp://mailer:{SECRET}@mail.example.com"


@pytest.fixture
def failed_job():
    process = HelloWorldProcess.objects.create(flow_class=HelloWorldFlow, status=ProcessStatus.ERROR, text="hi")
    return Task.objects.create(
        process=process, flow_task=HelloWorldFlow.send, flow_task_type="JOB", status=TaskStatus.ERROR, error=TRACEBACK
    )


def detail_url(task):
    return f"/flows/helloworld/{task.process_id}/send/{task.pk}/detail/"


def test_a_user_who_may_only_start_sees_that_the_job_failed_not_why(user_factory, client_for, failed_job):
    starter = user_factory("starter", "helloworld.can_start_helloworldprocess")
    response = client_for(starter).get(detail_url(failed_job))
    html = response.content.decode()
    assert response.status_code == 200
    assert SECRET not in html and "Traceback" not in html
    assert "This task failed" in html
    assert not can_see_error(starter, failed_job)


def test_an_approver_does_not_see_it_either(user_factory, client_for, failed_job):
    approver = user_factory("approver", "helloworld.can_approve_helloworldprocess", "helloworld.view_helloworldprocess")
    html = client_for(approver).get(detail_url(failed_job)).content.decode()
    assert SECRET not in html and "This task failed" in html


@pytest.mark.parametrize("manager", ["superuser", "change_task"])
def test_managers_read_the_traceback(user_factory, client_for, failed_job, manager):
    permissions = () if manager == "superuser" else ("viewflow.change_task",)
    user = user_factory("boss", *permissions, superuser=manager == "superuser")
    html = client_for(user).get(detail_url(failed_job)).content.decode()
    assert SECRET in html and "vf-traceback" in html and "This task failed" not in html


def test_in_the_admin_only_those_who_may_change_tasks_read_it(user_factory, failed_job):
    viewer = user_factory("viewer", "viewflow.view_task")
    manager = user_factory("manager", "viewflow.view_task", "viewflow.change_task")
    for user in (viewer, manager):
        user.is_staff = True
        user.save()
    url = f"/admin/viewflow/task/{failed_job.pk}/change/"
    seen = {}
    for user in (viewer, manager):
        client = Client()
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        seen[user.username] = SECRET in response.content.decode()
    assert seen == {"viewer": False, "manager": True}


def test_anonymous_and_obsolete_tasks(user_factory, failed_job):
    from django.contrib.auth.models import AnonymousUser

    assert not can_see_error(AnonymousUser(), failed_job)
    Task.objects.filter(pk=failed_job.pk).update(flow_task="helloworld.flows.HelloWorldFlow.gone")
    obsolete = Task.objects.get(pk=failed_job.pk)
    assert obsolete.flow_task is None
    assert can_see_error(user_factory("boss", "viewflow.change_task"), obsolete)
    assert not can_see_error(user_factory("starter", "helloworld.can_start_helloworldprocess"), obsolete)
