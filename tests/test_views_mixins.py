"""The view side: the mixins on plain Django generic views, inline formsets, function views."""

import pytest

from tests.testapp.flows import FormClassFlow, FunctionViewsFlow, InlineStartFlow, MixinViewsFlow
from tests.testapp.models import SampleLine, SampleProcess
from tests.utils import fresh, statuses, task_of
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(user_factory):
    return user_factory("boss", superuser=True)


def formset_data(prefix, rows, initial=0):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(initial)}
    for n, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{n}-{name}"] = value
    return data


def claim(client, task):
    url = f"/flows/{task.flow_task.flow_class.flow_label}/{task.process_id}/{task.flow_task.name}/{task.pk}/"
    assert client.post(url + "assign/").status_code == 302
    return url


def test_create_view_update_view_callable_and_inline_formsets(boss, client_for):
    client = client_for(boss)
    page = client.get("/flows/mixinviews/start/")
    assert page.status_code == 200 and 'name="text"' in page.content.decode()
    response = client.post("/flows/mixinviews/start/", {"text": "with mixins"})
    assert response.status_code == 302
    process = SampleProcess.objects.get(text="with mixins")
    assert process.flow_class is MixinViewsFlow and process.status == ProcessStatus.STARTED

    # an UpdateView given as an as_view() callable; its activation_done() saves an audit line first
    count = task_of(process, MixinViewsFlow.count)
    url = claim(client, count)
    page = client.get(url)
    assert page.status_code == 200 and 'name="count"' in page.content.decode()
    assert client.post(url, {"count": "not a number"}).status_code == 200  # invalid: shown again
    assert statuses(process, MixinViewsFlow.count) == [TaskStatus.ASSIGNED]
    assert client.post(url, {"count": "7"}).status_code == 302
    process = fresh(process)
    assert process.count == 7 and process.text == "with mixins"
    assert list(process.lines.values_list("name", "quantity")) == [("audit", 7)]

    # UpdateWithInlinesView (django-extra-views) as a task view
    lines = task_of(process, MixinViewsFlow.lines)
    url = claim(client, lines)
    page = client.get(url).content.decode()
    assert 'name="lines-TOTAL_FORMS"' in page and 'name="lines-0-name"' in page
    data = {
        "text": "edited",
        **formset_data(
            "lines",
            [{"id": str(process.lines.get().pk), "name": "audit", "quantity": "8"}, {"name": "bolt", "quantity": "3"}],
            initial=1,
        ),
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    process = fresh(process)
    assert process.text == "edited" and process.status == ProcessStatus.DONE
    assert sorted(process.lines.values_list("name", "quantity")) == [("audit", 8), ("bolt", 3)]


def test_start_with_inline_formset(boss, client_for):
    client = client_for(boss)
    page = client.get("/flows/inlinestart/start/").content.decode()
    assert 'name="lines-0-name"' in page

    bad = {"text": "order", **formset_data("lines", [{"name": "nut", "quantity": "many"}])}
    response = client.post("/flows/inlinestart/start/", bad)
    assert response.status_code == 200  # shown again with the error; nothing created
    assert not SampleProcess.objects.exists() and not SampleLine.objects.exists() and not Task.objects.exists()

    good = {
        "text": "order",
        **formset_data("lines", [{"name": "nut", "quantity": "2"}, {"name": "bolt", "quantity": "5"}]),
    }
    response = client.post("/flows/inlinestart/start/", good)
    assert response.status_code == 302
    process = SampleProcess.objects.get(text="order")
    assert process.flow_class is InlineStartFlow
    assert sorted(process.lines.values_list("name", "quantity")) == [("bolt", 5), ("nut", 2)]
    assert statuses(process, InlineStartFlow.approve) == [TaskStatus.NEW]


def test_ready_made_views_take_a_form_class(boss, client_for):
    client = client_for(boss)
    assert client.get("/flows/formclass/start/").status_code == 200
    refused = client.post("/flows/formclass/start/", {"text": "quietly"})
    assert refused.status_code == 200 and "exclamation mark" in refused.content.decode()
    assert client.post("/flows/formclass/start/", {"text": "loudly!"}).status_code == 302
    process = SampleProcess.objects.get(text="loudly!")
    url = claim(client, task_of(process, FormClassFlow.count))
    refused = client.post(url, {"count": "0"})
    assert refused.status_code == 200 and "Count something." in refused.content.decode()
    assert client.post(url, {"count": "3"}).status_code == 302
    assert fresh(process).count == 3 and fresh(process).status == ProcessStatus.DONE


def test_function_views_with_decorators(user_factory, client_for):
    user = user_factory("fn", "testapp.can_start_sampleprocess", "testapp.can_approve_sampleprocess")
    client = client_for(user)
    page = client.get("/flows/functionviews/start/")
    assert page.status_code == 200 and 'name="text"' in page.content.decode()
    assert not SampleProcess.objects.exists()  # a GET writes nothing

    response = client.post("/flows/functionviews/start/", {"text": "by function"})
    assert response.status_code == 302
    process = SampleProcess.objects.get(text="by function")
    approve = task_of(process, FunctionViewsFlow.approve)
    # the user may claim the next task: they are sent to claim it
    assert response["Location"] == f"/flows/functionviews/{process.pk}/approve/{approve.pk}/assign/"

    url = claim(client, approve)
    page = client.get(url)
    assert page.status_code == 200 and f"task {approve.pk} of by function" in page.content.decode()
    response = client.post(url, {"approved": "on"})
    assert response.status_code == 302
    process = fresh(process)
    assert process.approved is True and process.status == ProcessStatus.DONE
    assert statuses(process, FunctionViewsFlow.approve) == [TaskStatus.DONE]

    # done twice: the decorator refuses, like the mixins do
    response = client.post(url, {"approved": ""})
    assert response.status_code == 302 and fresh(process).approved is True


def test_function_views_check_login_and_permissions(user_factory, client, client_for):
    assert client.get("/flows/functionviews/start/")["Location"].startswith("/flows/login/")
    nobody = client_for(user_factory("nobody"))
    assert nobody.post("/flows/functionviews/start/", {"text": "x"}).status_code == 403
    assert not SampleProcess.objects.exists()

    starter = client_for(user_factory("starter", "testapp.can_start_sampleprocess"))
    starter.post("/flows/functionviews/start/", {"text": "y"})
    process = SampleProcess.objects.get(text="y")
    approve = task_of(process, FunctionViewsFlow.approve)
    url = f"/flows/functionviews/{process.pk}/approve/{approve.pk}/"
    assert starter.post(url, {"approved": "on"}).status_code == 403
    assert fresh(process).approved is False


def test_views_given_as_classes_or_callables_are_served():
    assert MixinViewsFlow.start.view.view_class.__name__ == "SampleStartView"
    assert MixinViewsFlow.count.view.view_class.__name__ == "CountView"
    assert FunctionViewsFlow.approve.view.__name__ == "approve_by_function"


def test_view_decorators_are_exported_from_views_and_flow():
    from viewflow import flow, views
    from viewflow.views import decorators

    assert flow.flow_view is views.flow_view is decorators.flow_view
    assert flow.flow_start_view is views.flow_start_view is decorators.flow_start_view


def inputs_of(page):
    """``{name: value}`` of the page's inputs (what a browser would send back untouched)."""
    import re

    data = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) != "csrfmiddlewaretoken" and 'type="checkbox"' not in tag:
            data[name.group(1)] = value.group(1) if value else ""
    return data


def test_extra_views_inlines_show_on_the_default_pages(boss, rf):
    """A CreateWithInlinesView/UpdateWithInlinesView with no template of its own: the default
    start and task pages show its inline formsets, and the page as sent can be submitted."""
    from django.contrib.messages.storage.cookie import CookieStorage

    from tests.testapp import views

    def call(view_class, node, method="get", data=None, **kwargs):
        request = getattr(rf, method)("/", data or {})
        request.user, request._dont_enforce_csrf_checks = boss, True
        request._messages = CookieStorage(request)
        view = view_class.as_view(template_name=None)  # the site's own start.html / task.html
        response = view(request, flow_class=node.flow_class, flow_task=node, **kwargs)
        return response.render() if hasattr(response, "render") else response

    page = call(views.StartWithLinesView, InlineStartFlow.start).content.decode()
    assert 'name="lines-TOTAL_FORMS"' in page and 'name="lines-0-name"' in page
    assert "Sample lines" in page  # the formset's heading: its model's plural name
    data = {**inputs_of(page), "text": "from the default page", "lines-0-name": "nut", "lines-0-quantity": "2"}
    response = call(views.StartWithLinesView, InlineStartFlow.start, "post", data)
    assert response.status_code == 302
    process = SampleProcess.objects.get(text="from the default page")
    assert list(process.lines.values_list("name", "quantity")) == [("nut", 2)]

    process = SampleProcess.objects.create(flow_class=MixinViewsFlow, status=ProcessStatus.STARTED, text="t")
    process.lines.create(name="bolt", quantity=1)
    task = Task.objects.create(
        process=process, flow_task=MixinViewsFlow.lines, status=TaskStatus.ASSIGNED, owner=boss, token="start"
    )
    kwargs = {"process_pk": process.pk, "task_pk": task.pk}
    page = call(views.EditLinesView, MixinViewsFlow.lines, **kwargs).content.decode()
    assert 'name="lines-INITIAL_FORMS"' in page and 'value="bolt"' in page


def test_site_views_put_the_user_itself_on_the_request(boss, client_for, client):
    """The site's views replace AuthenticationMiddleware's lazy proxy by the user it stands for."""
    from django.contrib.auth.models import AnonymousUser, User
    from django.utils.functional import LazyObject

    page = client_for(boss).get("/flows/mixinviews/start/")
    assert page.status_code == 200
    user = page.wsgi_request.user
    assert type(user) is User and not isinstance(user, LazyObject) and user.pk == boss.pk
    anonymous = client.get("/flows/mixinviews/start/")
    assert anonymous.status_code == 302 and type(anonymous.wsgi_request.user) is AnonymousUser
