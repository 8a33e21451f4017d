"""The site's pages: lists, process and task pages, redirects, overrides, layouts, queries per page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helloworld.flows import HelloWorldFlow
from helloworld.models import HelloWorldProcess
from viewflow.models import Task
from viewflow.site import viewsite
from viewflow.status import ProcessStatus, TaskStatus

from .testapp.models import SampleLine, SampleProcess
from .testapp.site_flows import SiteOrderFlow

APPROVE = "helloworld.can_approve_helloworldprocess"
VIEW = "helloworld.view_helloworldprocess"


@pytest.fixture
def approver(user_factory):
    return user_factory("approver", APPROVE, VIEW)


@pytest.fixture
def clerk(user_factory):
    return user_factory(
        "clerk", "testapp.add_sampleprocess", "testapp.change_sampleprocess", "testapp.view_sampleprocess"
    )


def make_processes(count, **task_fields):
    """``count`` Hello World processes, each with one approve task of ``task_fields``."""
    processes = []
    for i in range(count):
        process = HelloWorldProcess.objects.create(
            flow_class=HelloWorldFlow, status=ProcessStatus.STARTED, text=f"p{i}"
        )
        Task.objects.create(
            process=process,
            flow_task=HelloWorldFlow.approve,
            flow_task_type="HUMAN",
            owner_permission=APPROVE,
            **task_fields,
        )
        processes.append(process)
    return processes


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), response.content.decode()


# -- a constant number of queries per page, whatever the rows -------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, task_fields",
    [
        ("/flows/inbox/", {"status": TaskStatus.ASSIGNED, "owner": "approver"}),
        ("/flows/queue/", {"status": TaskStatus.NEW}),
        ("/flows/archive/", {"status": TaskStatus.DONE, "owner": "approver", "finished": "now"}),
        ("/flows/helloworld/", {"status": TaskStatus.NEW}),
    ],
    ids=["inbox", "queue", "archive", "process-list"],
)
def test_list_pages_cost_the_same_queries_for_1_and_50_rows(url, task_fields, approver, client_for, settings):
    settings.VIEWFLOW = {"PAGE_SIZE": 50}
    fields = {
        key: approver if value == "approver" else timezone.now() if value == "now" else value
        for key, value in task_fields.items()
    }
    client = client_for(approver)
    make_processes(1, **fields)
    one, page = queries_for(client, url)
    assert len(re.findall(r"<tr>\s*<td>", page)) == 1
    make_processes(49, **fields)
    fifty, page = queries_for(client, url)
    rows = len(re.findall(r"<tr>\s*<td>", page))
    assert rows == 50, f"{url} shows {rows} rows"
    assert one == fifty, f"{url}: {one} queries for 1 row, {fifty} for 50"
    print(f"{url}: {fifty} queries for 1 and for 50 rows")


@pytest.mark.django_db
def test_process_detail_costs_the_same_queries_for_1_and_50_tasks(approver, client_for, settings):
    settings.VIEWFLOW = {"PAGE_SIZE": 50}  # the whole history on one page
    (process,) = make_processes(1, status=TaskStatus.ASSIGNED, owner=approver)
    client = client_for(approver)
    url = f"/flows/helloworld/{process.pk}/"
    one, _page = queries_for(client, url)
    previous = process.task_set.get()
    for _i in range(49):
        task = Task.objects.create(
            process=process,
            flow_task=HelloWorldFlow.approve,
            flow_task_type="HUMAN",
            owner=approver,
            status=TaskStatus.DONE,
            finished=timezone.now(),
        )
        task.previous.add(previous)
        previous = task
    fifty, page = queries_for(client, url)
    assert page.count("<td>approver</td>") == 50
    assert one == fifty, f"process detail: {one} queries for 1 task, {fifty} for 50"
    print(f"{url}: {fifty} queries for 1 and for 50 tasks")


# -- lists ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_are_paginated_and_keep_their_filters(approver, client_for, settings):
    settings.VIEWFLOW = {"PAGE_SIZE": 3}
    make_processes(7, status=TaskStatus.NEW)
    client = client_for(approver)
    page = client.get("/flows/queue/").content.decode()
    assert "Page 1 of 3" in page and "?page=2" in page
    assert client.get("/flows/queue/?page=3").content.decode().count("/assign/") == 1
    page = client.get("/flows/helloworld/?status=STARTED&page=2").content.decode()
    assert "Page 2 of 3" in page and "status=STARTED&amp;page=3" in page
    # a page that is gone (its tasks were claimed since): the last one, not a 404; nonsense stays a 404
    for url in ("/flows/queue/?page=9", "/flows/helloworld/?status=STARTED&page=9"):
        page = client.get(url).content.decode()
        assert "Page 3 of 3" in page, url
    assert client.get("/flows/queue/?page=0").status_code == 404
    assert client.get("/flows/queue/?page=abc").status_code == 404


@pytest.mark.django_db
def test_process_list_filters_by_status_and_searches_text_or_number(approver, client_for):
    first, second, third = make_processes(3, status=TaskStatus.NEW)
    HelloWorldProcess.objects.filter(pk=third.pk).update(status=ProcessStatus.DONE, text="a special request")
    client = client_for(approver)

    def shown(query):
        page = client.get(f"/flows/helloworld/{query}").content.decode()
        return {int(pk) for pk in re.findall(r'href="/flows/helloworld/(\d+)/"', page)}

    assert shown("") == {first.pk, second.pk, third.pk}
    assert shown("?status=DONE") == {third.pk}
    assert shown("?status=STARTED") == {first.pk, second.pk}
    assert shown("?q=special") == {third.pk}
    assert shown(f"?q={second.pk}") == {second.pk}
    assert shown("?q=special&status=STARTED") == set()
    page = client.get("/flows/helloworld/").content.decode()
    # the status pills count what each filter would show
    assert re.search(r"Started <span[^>]*>2</span>", page) and re.search(r"Done <span[^>]*>1</span>", page)


@pytest.mark.django_db
def test_lists_show_only_what_the_user_may_see(approver, user_factory, client_for):
    make_processes(2, status=TaskStatus.NEW)
    stranger = client_for(user_factory("stranger"))
    assert "/assign/" not in stranger.get("/flows/queue/").content.decode()
    assert stranger.get("/flows/helloworld/").status_code == 403
    assert client_for(approver).get("/flows/queue/").content.decode().count("/assign/") == 2
    # the navigation counts
    page = client_for(approver).get("/flows/").content.decode()
    assert re.search(r'data-count="queue">2<', page) and re.search(r'data-count="inbox">0<', page)


@pytest.mark.django_db
def test_pages_work_without_the_request_and_messages_context_processors(approver, user_factory, client_for, settings):
    """A project whose TEMPLATES lists only the auth processor still gets whole pages and their messages."""
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth"]},
        }
    ]
    settings.VIEWFLOW = {"PAGE_SIZE": 2}
    first, *_ = make_processes(3, status=TaskStatus.NEW)
    task = first.task_set.get()
    client = client_for(approver)
    for url in ("/flows/", "/flows/queue/", "/flows/helloworld/?status=STARTED", f"/flows/helloworld/{first.pk}/"):
        page = client.get(url).content.decode()
        assert ">approver<" in page, url  # the navigation knows who is there
    assert "status=STARTED&amp;page=2" in client.get("/flows/helloworld/?status=STARTED").content.decode()
    response = client.post(f"/flows/helloworld/{first.pk}/approve/{task.pk}/assign/", follow=True)
    assert response.status_code == 200 and "is assigned to you" in response.content.decode()
    refused = client_for(user_factory("stranger")).get(f"/flows/helloworld/{first.pk}/")
    assert refused.status_code == 403 and ">stranger<" in refused.content.decode()


# -- a whole flow through the pages: layout, inline formset, next task, overrides ----------


@pytest.mark.django_db(transaction=True)
def test_start_with_inline_lines_then_next_tasks_then_inbox(clerk, client_for):
    client = client_for(clerk)
    page = client.get("/flows/siteorder/start/").content.decode()
    assert 'name="lines-TOTAL_FORMS"' in page and 'name="lines-0-name"' in page
    assert '<legend class="vf-legend">Lines</legend>' in page

    data = {
        "text": "Two lines",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-name": "bolts",
        "lines-0-quantity": "",  # invalid: the whole page comes back, nothing is saved
    }
    response = client.post("/flows/siteorder/start/", data)
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    assert not SampleProcess.objects.filter(text="Two lines").exists()

    data.update({"lines-0-quantity": "3", "lines-1-name": "nuts", "lines-1-quantity": "5"})
    response = client.post("/flows/siteorder/start/", data)
    process = SampleProcess.objects.get(text="Two lines")
    assert sorted(SampleLine.objects.filter(process=process).values_list("name", "quantity")) == [
        ("bolts", 3),
        ("nuts", 5),
    ]
    start = process.task_set.get(flow_task=SiteOrderFlow.start)
    assert start.owner == clerk  # the history says who started it
    fill = process.task_set.get(flow_task=SiteOrderFlow.fill)
    # the clerk may claim the next task: they are taken straight to it
    assert response["Location"] == f"/flows/siteorder/{process.pk}/fill/{fill.pk}/assign/"
    response = client.post(response["Location"])
    fill_url = f"/flows/siteorder/{process.pk}/fill/{fill.pk}/"
    assert response["Location"] == fill_url

    page = client.get(fill_url).content.decode()
    # the layout: a fieldset with a row of an 8- and a 4-column cell, the checkbox after it
    assert '<legend class="vf-legend">Order</legend>' in page
    assert re.search(r'col-md-8">\s*<div class="mb-3 vf-field">\s*<label[^>]*for="id_text"', page)
    assert re.search(r'col-md-4">\s*<div class="mb-3 vf-field">\s*<label[^>]*for="id_count"', page)
    assert page.index('id="id_count"') < page.index('id="id_approved"')
    assert 'id="flow-override"' in page  # viewflow/siteorder/task.html

    response = client.post(fill_url, {"text": "Two lines", "count": "2", "approved": "on"})
    check = process.task_set.get(flow_task=SiteOrderFlow.check)
    assert response["Location"] == f"/flows/siteorder/{process.pk}/check/{check.pk}/"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("next task" in m for m in messages), messages

    page = client.get(response["Location"]).content.decode()
    assert 'id="app-node-override"' in page and "flow-node-override" not in page and "flow-override" not in page
    response = client.post(response["Location"], {})
    assert response["Location"] == "/flows/inbox/"
    inbox = client.get("/flows/inbox/").content.decode()
    assert "is done. Nothing more for you" in inbox

    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE and process.count == 2 and process.approved
    detail = client.get(f"/flows/siteorder/{process.pk}/").content.decode()
    assert 'id="flow-process-override"' in detail
    assert detail.count("<td>clerk</td>") == 3  # start, fill and check: who did what


@pytest.mark.django_db
def test_task_detail_and_actions_do_not_use_the_node_task_template(clerk, client_for):
    client = client_for(clerk)
    with SiteOrderFlow.start.start() as activation:
        activation.task.owner = clerk
        activation.process.text = "x"
        process = activation.done()
    fill = process.task_set.get(flow_task=SiteOrderFlow.fill)
    page = client.get(f"/flows/siteorder/{process.pk}/fill/{fill.pk}/detail/").content.decode()
    assert "flow-override" not in page and "Claim" in page
    assert client.get(f"/flows/siteorder/{process.pk}/fill/{fill.pk}/assign/").status_code == 200


# -- the layout language on its own ---------------------------------------------------------


def test_layout_renders_rows_columns_fieldsets_spans_and_leftover_fields():
    from django import forms

    from viewflow.site import Column, Fieldset, Layout, Row, Span, Span3, Span9

    class AddressForm(forms.Form):
        name = forms.CharField()
        street = forms.CharField()
        zip = forms.CharField(help_text="Five digits")
        city = forms.CharField()
        note = forms.CharField(required=False)
        agree = forms.BooleanField()

    layout = Layout(
        Row("name"),
        Fieldset("Address", Row(Span9("street"), Span3("zip")), Row(Column("city"))),
        "agree",
    )
    form = AddressForm(data={"name": "n", "street": "s", "zip": "", "city": "c"})
    form.is_valid()
    html = str(layout.render_form(form))
    assert html.index('id="id_name"') < html.index("<legend") < html.index('id="id_street"')
    assert re.search(r'col-12 col-md-9">\s*<div class="mb-3 vf-field">\s*<label[^>]*for="id_street"', html)
    assert re.search(r'col-12 col-md-3">\s*<div class="mb-3 vf-field">\s*<label[^>]*for="id_zip"', html)
    assert '<div class="col-12 col-md"><div class="vf-column">' in html
    # bootstrap classes, errors marked, help linked
    assert re.search(r'<input[^>]*class="form-control is-invalid"[^>]*id="id_zip"', html)
    assert "This field is required." in html
    # the widget names its help text and its errors by ids the page has (screen readers read both)
    assert re.search(r'<input[^>]*aria-describedby="id_zip_helptext id_zip_error"[^>]*id="id_zip"', html)
    assert 'id="id_zip_helptext"' in html and 'id="id_zip_error"' in html
    assert (
        re.search(r'<input[^>]*aria-describedby="id_agree_error"[^>]*id="id_agree"', html)
        and 'id="id_agree_error"' in html
    )
    assert re.search(r'<input[^>]*type="checkbox"[^>]*class="form-check-input is-invalid"', html)
    # a field the layout forgot is still rendered, after the layout
    assert html.index('id="id_agree"') < html.index('id="id_note"')
    assert list(layout.field_names()) == ["name", "street", "zip", "city", "agree"]
    with pytest.raises(KeyError, match="nope"):
        Layout("nope").render_form(form)
    with pytest.raises(ValueError):
        Span(13, "x")


@pytest.mark.django_db
def test_an_inline_row_shows_the_errors_of_its_hidden_fields():
    """A row deleted meanwhile (its hidden id no longer valid) says so instead of coming back silently."""
    from django import forms
    from django.utils.html import escape

    from viewflow.site import Inline, Layout

    from .testapp.site_flows import LineFormSet

    process = SampleProcess.objects.create(text="x")
    data = {"lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1", "lines-0-id": "999999", "lines-0-name": "bolt"}
    formset = LineFormSet({**data, "lines-0-quantity": "2"}, instance=process)
    assert not formset.is_valid() and list(formset.errors[0]) == ["id"]

    html = str(Layout(Inline("Lines", LineFormSet)).render_form(forms.Form(), [formset]))

    assert escape(formset.errors[0]["id"][0]) in html
    assert 'value="bolt"' in html  # and what was typed is still there


# -- template tags --------------------------------------------------------------------------


@pytest.mark.django_db
def test_flowurl_and_flow_perms_tags(approver):
    from django.template import Context, Template
    from django.test import RequestFactory

    (process,) = make_processes(1, status=TaskStatus.NEW)
    task = process.task_set.get()
    template = Template(
        "{% load viewflow %}{% flowurl flow_class %}|{% flowurl flow_class 'start' %}|{% flowurl process %}|"
        "{% flowurl process 'cancel' %}|{% flowurl task %}|{% flowurl task 'assign' %}|{% flowurl task 'process' %}|"
        "{% flow_perms user task as perms %}{% if 'assign' in perms %}may claim{% endif %}"
        "{% if 'execute' in perms %}may do{% endif %}"
    )
    request = RequestFactory().get("/")
    request.user = approver
    out = template.render(
        Context({"flow_class": HelloWorldFlow, "process": process, "task": task, "user": approver, "request": request})
    )
    base = f"/flows/helloworld/{process.pk}/"
    assert out.split("|") == [
        "/flows/helloworld/",
        "/flows/helloworld/start/",
        base,
        f"{base}cancel/",
        f"{base}approve/{task.pk}/",
        f"{base}approve/{task.pk}/assign/",
        base,
        "may claim",
    ]


@pytest.mark.django_db
def test_tags_on_a_start_page_give_no_url_for_the_unsaved_process_and_task(
    tmp_path, settings, user_factory, client_for
):
    """A project's start.html may use the tags like its task.html: the process and task are not saved yet."""
    (tmp_path / "viewflow").mkdir()
    (tmp_path / "viewflow" / "start.html").write_text(
        '{% extends "viewflow/base.html" %}{% load viewflow %}{% block content %}'
        '{% if process %}[process:{% flowurl process %}][cancel:{% flowurl process "cancel" %}]{% endif %}'
        '{% if task %}[task:{% flowurl task %}][detail:{% flowurl task "detail" %}][of:{% flowurl task "process" %}]'
        '{% flow_perms request.user task as perms %}[perms:{{ perms|length }}]{% endif %}'
        '[start:{% flowurl flow_class "start" %}]{% endblock %}'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    boss = user_factory("boss", superuser=True)

    page = client_for(boss).get("/flows/helloworld/start/")

    assert page.status_code == 200
    assert "[process:][cancel:][task:][detail:][of:][perms:0][start:/flows/helloworld/start/]" in page.content.decode()


def test_registered_flows_include_the_site_test_flow():
    assert viewsite.get_flow("siteorder") is SiteOrderFlow



@pytest.mark.django_db
def test_flow_list_counts_running_processes_and_my_tasks(approver, user_factory, client_for):
    make_processes(2, status=TaskStatus.NEW)
    make_processes(1, status=TaskStatus.ASSIGNED, owner=approver)
    page = client_for(approver).get("/flows/").content.decode()
    assert "3 processes running" in page and "1 task in your inbox" in page and "2 tasks to claim" in page
    watcher = client_for(user_factory("watcher", VIEW))
    page = watcher.get("/flows/").content.decode()
    assert "3 processes running" in page and "inbox</a>" not in page and "to claim" not in page


@pytest.mark.django_db
def test_flow_list_tasks_to_claim_link_to_the_queue_not_to_an_empty_inbox(approver, client_for):
    """A task waiting in the queue was counted "for you" and linked to the inbox, which showed nothing."""
    make_processes(1, status=TaskStatus.NEW)
    client = client_for(approver)
    page = client.get("/flows/").content.decode()
    assert "in your inbox" not in page
    link = re.search(r'href="([^"]+)" data-count="queue">1 task to claim<', page)
    assert link, page
    listed = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert "/helloworld/" in listed and "Claim" in listed


# -- counts stop at the cap, and say so alike everywhere ------------------------------------


@pytest.mark.django_db
def test_counts_are_capped_alike_on_the_flow_list_the_lists_and_the_navigation(
    approver, client_for, settings, monkeypatch
):
    """The flow list said "1034 tasks to claim" beside a "1000+" badge; a deep queue page made the badge exact."""
    from viewflow.views import lists

    monkeypatch.setattr(lists, "COUNT_CAP", 3)
    settings.VIEWFLOW = {"PAGE_SIZE": 2}
    make_processes(5, status=TaskStatus.NEW)
    make_processes(4, status=TaskStatus.ASSIGNED, owner=approver)
    client = client_for(approver)

    def badges(page):
        return dict(re.findall(r'<span class="badge[^"]*" data-count="(\w+)">([^<]*)<', page))

    with CaptureQueriesContext(connection) as index:
        page = client.get("/flows/").content.decode()
    assert "3+ processes running" in page and "3+ tasks in your inbox" in page and "3+ tasks to claim" in page
    assert badges(page)["inbox"] == "3+" and badges(page)["queue"] == "3+"
    counting = [query["sql"] for query in index.captured_queries if "COUNT(" in query["sql"]]
    assert len(counting) == 1, counting  # every card and the navigation in one statement
    assert "LIMIT 4" in counting[0] and "GROUP BY" not in counting[0]  # each count stops at the cap

    lists = ["/flows/queue/", "/flows/queue/?page=3", "/flows/inbox/?page=2", "/flows/queue/?flow=helloworld&page=3"]
    for url in lists:
        response = client.get(url)
        assert response.status_code == 200, url
        found = badges(response.content.decode())
        assert (found["inbox"], found["queue"]) == ("3+", "3+"), (url, found)
        assert found["list"] == "3+", (url, found)  # the list's own title badge too
    page = client.get("/flows/queue/?page=3").content.decode()
    assert "Page 3 of 3" in page and page.count("/assign/") == 1  # the deep page itself still works

    page = client.get("/flows/helloworld/").content.decode()
    assert re.search(r"All <span[^>]*>3\+</span>", page) and re.search(r"Started <span[^>]*>3\+</span>", page)
    assert badges(page)["queue"] == "3+"
    page = client.get("/flows/helloworld/?status=STARTED&page=5").content.decode()
    assert "Page 5 of 5" in page and badges(page)["queue"] == "3+"


# -- long histories and joins stay one page long -----------------------------------------------


def history_rows(page):
    table = page[page.index("vf-history") : page.index("</table>", page.index("vf-history"))]
    return re.findall(r'href="/flows/helloworld/\d+/approve/(\d+)/detail/"', table)


@pytest.mark.django_db
def test_process_history_is_paginated_and_to_do_now_is_bounded(approver, client_for, settings):
    settings.VIEWFLOW = {"PAGE_SIZE": 10}
    (process,) = make_processes(1, status=TaskStatus.NEW)
    for i in range(24):
        Task.objects.create(
            process=process,
            flow_task=HelloWorldFlow.approve,
            flow_task_type="HUMAN",
            owner_permission=APPROVE,
            status=TaskStatus.NEW if i < 11 else TaskStatus.DONE,
            owner=None if i < 11 else approver,
            finished=None if i < 11 else timezone.now(),
        )
    tasks = [str(pk) for pk in process.task_set.order_by("created", "pk").values_list("pk", flat=True)]
    client = client_for(approver)
    url = f"/flows/helloworld/{process.pk}/"

    page = client.get(url).content.decode()
    assert history_rows(page) == tasks[:10]
    assert "Page 1 of 3" in page and 'href="?page=2#history"' in page and 'id="history"' in page
    active = page[page.index("vf-active-tasks") : page.index("</section>", page.index("vf-active-tasks"))]
    assert active.count("/detail/") == 10 and "More tasks are waiting" in active  # 12 are, 10 shown
    page = client.get(f"{url}?page=3").content.decode()
    assert history_rows(page) == tasks[20:] and "Page 3 of 3" in page
    assert client.get(f"{url}?page=x").status_code == 200  # a bad page number shows the first page

    one, _page = queries_for(client, url)
    for _i in range(30):
        Task.objects.create(process=process, flow_task=HelloWorldFlow.approve, flow_task_type="HUMAN", status="NEW")
    more, page = queries_for(client, url)
    assert one == more and len(history_rows(page)) == 10


@pytest.mark.django_db
def test_chart_of_a_process_is_drawn_from_its_nodes_not_its_tasks(approver):
    from viewflow.chart import process_chart_state

    with HelloWorldFlow.start.start() as activation:
        activation.process.text = "chart"
        process = activation.done()
    task = process.task_set.get(flow_task=HelloWorldFlow.approve)
    with task.activation() as activation:
        activation.assign(approver)
    for _i in range(20):  # more tasks of the same nodes change nothing the chart reads
        Task.objects.create(process=process, flow_task=HelloWorldFlow.approve, flow_task_type="HUMAN", status="NEW")
    assert process_chart_state(HelloWorldFlow, process.pk) == (
        {"start": "done", "approve": "active"},
        {("start", "approve")},
    )


@pytest.mark.django_db
def test_task_detail_lists_a_few_tasks_before_and_after_it(approver, client_for):
    (process,) = make_processes(1, status=TaskStatus.DONE, owner=approver)
    task = process.task_set.get()
    before = [
        Task.objects.create(process=process, flow_task=HelloWorldFlow.start, flow_task_type="START", status="DONE")
        for _i in range(12)
    ]
    after = [
        Task.objects.create(process=process, flow_task=HelloWorldFlow.approve, flow_task_type="HUMAN", status="NEW")
        for _i in range(3)
    ]
    task.previous.add(*before)
    for later in after:
        later.previous.add(task)
    page = client_for(approver).get(f"/flows/helloworld/{process.pk}/approve/{task.pk}/detail/").content.decode()
    assert len(re.findall(r"/start/\d+/detail/", page)) == 10  # of 12
    assert len(re.findall(r"/approve/\d+/detail/", page)) == 3  # all of them
    assert page.count("and more: see the history") == 1
    assert f'href="/flows/helloworld/{process.pk}/#history"' in page


@pytest.mark.django_db
def test_a_flow_manager_sees_the_process_pages_their_operations_lead_to(user_factory, client_for):
    """``viewflow.change_task`` alone makes a manager (docs/permissions.md): retry, cancel, cancel the process."""
    manager = client_for(user_factory("manager", "viewflow.change_task"))
    process = make_processes(1)[0]
    task = process.task_set.get()
    # the flow and the process are the manager's to see
    assert manager.get("/flows/helloworld/").status_code == 200
    assert manager.get(f"/flows/helloworld/{process.pk}/").status_code == 200
    # an operation lands on the process page, which answers
    response = manager.post(f"/flows/helloworld/{process.pk}/approve/{task.pk}/cancel/", follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == f"/flows/helloworld/{process.pk}/"
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELED
    # and so does cancelling the whole process, which only managers may do
    other = make_processes(1)[0]
    assert manager.get(f"/flows/helloworld/{other.pk}/cancel/").status_code == 200
    response = manager.post(f"/flows/helloworld/{other.pk}/cancel/")
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == ProcessStatus.CANCELED


@pytest.mark.django_db
def test_the_process_page_says_what_a_waiting_join_waits_for(user_factory, client_for):
    from tests.testapp.flows import HumanSplitFlow
    from tests.utils import do_task, task_of
    from viewflow.views.urls import process_url

    process = HumanSplitFlow.start.run()
    do_task(task_of(process, HumanSplitFlow.review_a), user_factory("reviewer", "testapp.can_review_a_sampleprocess"))
    page = client_for(user_factory("boss", superuser=True)).get(process_url(process)).content.decode()
    assert "waiting for its other branches" in page and "waiting in the queue" in page  # the join; review_b
