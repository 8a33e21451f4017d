"""The API and the site share the engine: the same task completed through both at once completes once."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from helloworld.flows import HelloWorldFlow
from viewflow.models import Process, Task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions need PostgreSQL")


def test_api_and_site_complete_the_same_task_at_once(user_factory):
    starter = user_factory("starter", "helloworld.can_start_helloworldprocess")
    approver = user_factory("approver", "helloworld.can_approve_helloworldprocess")
    process = HelloWorldFlow.process_cls.objects.get(
        pk=_api(starter).post("/api/flows/helloworld/start/start/", {"text": "race"}, format="json").json()["id"]
    )
    task = Task.objects.get(process=process, flow_task=HelloWorldFlow.approve)
    claim = f"/api/flows/helloworld/processes/{process.pk}/approve/{task.pk}/assign/"
    assert _api(approver).post(claim).status_code == 200

    answers = {}
    site = Client()
    site.force_login(approver)
    api = _api(approver)

    def through_api():
        try:
            url = f"/api/flows/helloworld/processes/{process.pk}/approve/{task.pk}/complete/"
            answers["api"] = api.post(url, {"approved": True}, format="json")
        finally:
            connection.close()

    def through_site():
        try:
            answers["site"] = site.post(f"/flows/helloworld/{process.pk}/approve/{task.pk}/", {"approved": "on"})
        finally:
            connection.close()

    threads = [threading.Thread(target=through_api), threading.Thread(target=through_site)]
    with transaction.atomic():  # hold the process's row lock until both requests wait for it
        Process.objects.select_for_update().get(pk=process.pk)
        for thread in threads:
            thread.start()
        time.sleep(0.5)
    for thread in threads:
        thread.join(30)

    api_answer, site_answer = answers["api"], answers["site"]
    assert site_answer.status_code == 302
    assert api_answer.status_code in (200, 409), api_answer.content
    # exactly one of them completed it: the flow went on once
    assert Task.objects.filter(process=process, flow_task=HelloWorldFlow.check_approve).count() == 1
    assert Task.objects.get(pk=task.pk).status == "DONE"
    if api_answer.status_code == 200:  # the API won: the site says the task was done already
        page = site.get(site_answer.url)
        assert "already done" in page.content.decode()
    else:
        assert "already done" in api_answer.json()["detail"]
        assert site_answer.url != f"/flows/helloworld/{process.pk}/"


def _api(user):
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
