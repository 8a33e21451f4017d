"""Only GET and POST reach the site's views: any other method is a 405 that changes nothing.

A PUT once went around the lock: the views took the flow's lock only for POST,
and Django's edit views answer a PUT as a POST, so the task owner's PUT
completed the task with an empty form. Here every URL pattern of the site is
walked with PUT, PATCH and DELETE, as a superuser who owns and may manage every
task, over processes and tasks in every status.
"""

import datetime
from decimal import Decimal

import pytest
from django.core import serializers
from django.db import models
from django.test import Client
from django.urls import reverse

from viewflow.models import Process, Task
from viewflow.site import viewsite
from viewflow.site.sites import flow_urlpatterns
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db

METHODS = ("put", "patch", "delete")
#: the models whose rows a state-changing view could write
SNAPSHOT_APPS = ("viewflow", "helloworld", "orders", "leave", "testapp")


def _filler(field):
    """A value for a required field of a process model, so any flow's process can be stored."""
    if isinstance(field, models.DateField):
        return datetime.date(2026, 1, 5)
    if isinstance(field, models.DecimalField):
        return Decimal("1")
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 1
    return "x"


def make_process(flow_class, status=ProcessStatus.STARTED):
    fields = {
        field.name: _filler(field)
        for field in flow_class.process_cls._meta.concrete_fields
        if field.model is not Process and not field.null and not field.has_default() and not field.primary_key
        and not field.is_relation
    }
    return flow_class.process_cls._default_manager.create(flow_class=flow_class, status=status, **fields)


def populate(boss):
    """Every registered flow: a running process with a task of each node in each status that matters."""
    for flow_class in viewsite.flows():
        process = make_process(flow_class)
        make_process(flow_class, status=ProcessStatus.DONE)
        for node in flow_class._meta.nodes.values():
            human = hasattr(node, "can_assign") and node.task_type != "START"
            waiting = (TaskStatus.NEW, TaskStatus.ASSIGNED) if human else ()
            for status in (*waiting, TaskStatus.ERROR, TaskStatus.DONE):
                flow_class.task_cls._default_manager.create(
                    process=process,
                    flow_task=node,
                    flow_task_type=node.task_type,
                    status=status,
                    owner=boss if status == TaskStatus.ASSIGNED else None,
                    owner_permission=getattr(node, "owner_permission", "") or "",
                    error="Traceback: boom" if status == TaskStatus.ERROR else "",
                )


def site_urls(per_pattern=None):
    """Every URL of the site, with each process and task id it can carry (at most ``per_pattern`` of each)."""
    urls = [reverse(f"viewflow:{name}") for name in ("index", "inbox", "queue", "archive", "login", "logout")]
    for flow_class in viewsite.flows():
        label = flow_class._meta.flow_label
        processes = flow_class.process_cls._default_manager.filter(flow_class=flow_class)
        processes = list(processes.values_list("pk", flat=True))
        for pattern in flow_urlpatterns(flow_class):
            params = set(pattern.pattern.converters)
            name = f"viewflow:{label}:{pattern.name}"
            if not params:
                urls.append(reverse(name))
            elif params == {"process_pk"}:
                urls.extend(reverse(name, kwargs={"process_pk": pk}) for pk in processes[:per_pattern])
            else:
                node = flow_class._meta.nodes[pattern.name.split("__")[0]]
                tasks = flow_class.task_cls._default_manager.filter(flow_task=node).values_list("process_id", "pk")
                urls.extend(reverse(name, kwargs={"process_pk": p, "task_pk": t}) for p, t in tasks[:per_pattern])
    return urls


def snapshot():
    rows = []
    for app in SNAPSHOT_APPS:
        from django.apps import apps

        for model in apps.get_app_config(app).get_models():
            rows.append(serializers.serialize("json", model._base_manager.order_by("pk")))
    return rows


def test_every_url_of_the_site_refuses_put_patch_and_delete_and_changes_nothing(user_factory):
    boss = user_factory("boss", superuser=True)
    populate(boss)
    client = Client(raise_request_exception=False)
    client.force_login(boss)
    urls = site_urls()
    assert len(urls) > 200  # every flow's pages and every task page of every status
    before = snapshot()
    answers = {}
    for url in urls:
        for method in METHODS:
            form = "approved=on&text=changed"
            response = getattr(client, method)(url, data=form, content_type="application/x-www-form-urlencoded")
            answers[method.upper(), url] = response.status_code
    wrong = {key: status for key, status in answers.items() if status != 405}
    assert not wrong, f"{len(wrong)} answers were not 405, e.g. {list(wrong.items())[:10]}"
    assert snapshot() == before


def test_405_says_which_methods_are_allowed(user_factory, client_for):
    from helloworld.flows import HelloWorldFlow

    boss = user_factory("boss", superuser=True)
    populate(boss)
    task = Task.objects.filter(flow_task=HelloWorldFlow.approve, status=TaskStatus.ASSIGNED).first()
    response = client_for(boss).put(f"/flows/helloworld/{task.process_id}/approve/{task.pk}/")
    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS", "POST"}
    task.refresh_from_db()
    assert task.status == TaskStatus.ASSIGNED


def test_options_and_head_change_nothing_either(user_factory):
    boss = user_factory("boss", superuser=True)
    populate(boss)
    client = Client(raise_request_exception=False)
    client.force_login(boss)
    urls = [url for url in site_urls(per_pattern=1) if "/logout/" not in url]
    before = snapshot()
    for url in urls:
        for method in ("options", "head"):
            response = getattr(client, method)(url)
            assert response.status_code < 500, (method, url)
            if method == "options":
                assert "PUT" not in response.get("Allow", ""), url
    assert snapshot() == before


def test_anonymous_put_is_refused_too(db):
    response = Client().put("/flows/helloworld/start/")
    assert response.status_code == 405
