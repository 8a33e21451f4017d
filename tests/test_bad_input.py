"""Bad input through the web: invalid forms, forged URLs, missing permissions, no CSRF token,
double submissions and rows tampered with in the database.

Every case must end in a clean answer (a form with errors, 404, 403, a
message) with nothing written, never in a 500 or a half-done step.
"""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from tests.integrity_support import start_integrity, task_of
from tests.testapp.integrity_flows import IntegrityFlow, JobFlow
from tests.testapp.models import SampleProcess
from viewflow.contrib.celery import Job
from viewflow.exceptions import FlowRuntimeError
from viewflow.models import Process, Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db

START_PERM = "testapp.can_start_sampleprocess"
VET_PERM = "testapp.can_vet_sampleprocess"
SIGN_PERM = "testapp.can_sign_off_sampleprocess"
TASK_ACTIONS = ("detail", "assign", "unassign", "reassign", "cancel", "retry", "undo")


def rows():
    """How many rows the engine's tables hold, and the processes' data."""
    return (
        Process.objects.count(),
        Task.objects.count(),
        Task.previous.through.objects.count(),
        list(SampleProcess.objects.order_by("pk").values("pk", "status", "text", "approved", "count")),
        list(Task.objects.order_by("pk").values_list("pk", "status", "owner_id")),
    )


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def vetter(user_factory):
    return user_factory("vetter", START_PERM, VET_PERM)


@pytest.fixture
def client(vetter, client_for):
    return client_for(vetter)


def claimed(user, text="bad input"):
    process = start_integrity(text)
    task = task_of(process, IntegrityFlow.vet)
    with task.activation() as activation:
        activation.assign(user, by=user)
    return process, task


def url(process, node, task, action=None):
    flow = process.flow_class._meta.flow_label if hasattr(process, "flow_class") else process
    base = f"/flows/{flow}/{process.pk}/{node}/{task.pk}/"
    return base + (f"{action}/" if action else "")


# -- invalid forms --------------------------------------------------------------------


def test_invalid_start_form_rerenders_with_errors_and_saves_nothing(client):
    before = rows()
    response = client.post("/flows/integrity/start/", {"text": "x" * 151})
    assert response.status_code == 200
    assert response.context["form"].errors["text"]
    assert "errorlist" in response.content.decode()
    assert rows() == before


def test_invalid_task_form_rerenders_with_errors_and_saves_nothing(user_factory, client_for, monkeypatch):
    monkeypatch.setattr(Job, "dispatch", lambda node, task: None)
    signer = user_factory("signer", SIGN_PERM)
    process = JobFlow.start.run(text="kept")
    task = task_of(process, JobFlow.sign_off)
    with task.activation() as activation:
        activation.assign(signer, by=signer)
    before = rows()
    response = client_for(signer).post(url(process, "sign_off", task), {"text": "y" * 151})
    assert response.status_code == 200 and response.context["form"].errors["text"]
    assert rows() == before
    assert task_of(process, JobFlow.sign_off).status == TaskStatus.ASSIGNED


# -- forged and mismatched URLs ---------------------------------------------------------


def test_forged_urls_are_404(client, vetter, monkeypatch, user_factory, client_for):
    monkeypatch.setattr(Job, "dispatch", lambda node, task: None)
    process, task = claimed(vetter)
    other, other_task = claimed(vetter, "another process")
    job_process = JobFlow.start.run()
    job_task = task_of(job_process, JobFlow.sign_off)
    before = rows()
    forged = [
        # a task of another process
        f"/flows/integrity/{other.pk}/vet/{task.pk}/",
        *(f"/flows/integrity/{other.pk}/vet/{task.pk}/{action}/" for action in TASK_ACTIONS),
        # a task of another node
        f"/flows/integrity/{process.pk}/vet/{task_of(process, IntegrityFlow.start).pk}/",
        f"/flows/integrity/{process.pk}/start/{task.pk}/detail/",
        # a process and a task of another flow
        f"/flows/integrity/{job_process.pk}/",
        f"/flows/integrity/{job_process.pk}/cancel/",
        f"/flows/integrity/{job_process.pk}/chart.svg",
        f"/flows/integrity/{job_process.pk}/vet/{job_task.pk}/",
        f"/flows/job/{process.pk}/sign_off/{task.pk}/",
        f"/flows/job/{job_process.pk}/sign_off/{task.pk}/detail/",
        # ids that are not numbers, or not there
        "/flows/integrity/abc/",
        f"/flows/integrity/{process.pk}/vet/abc/",
        f"/flows/integrity/{process.pk}/vet/{task.pk}x/assign/",
        "/flows/integrity/999999/",
        f"/flows/integrity/999999/vet/{task.pk}/",
        f"/flows/integrity/{process.pk}/vet/999999/detail/",
        # a node that does not exist
        f"/flows/integrity/{process.pk}/nonode/{task.pk}/",
        "/flows/noflow/",
    ]
    manager = client_for(user_factory("manager", superuser=True))  # may do anything: only the URL is wrong
    for path in forged:
        assert manager.get(path).status_code == 404, path
        assert manager.post(path).status_code in (404, 405), path  # 405: a read-only page
        # a user with fewer rights may be refused first, never served
        assert client.get(path).status_code in (403, 404), path
        assert client.post(path).status_code in (403, 404, 405), path
    assert rows() == before


TOO_LONG = "99999999999999999999"  # more than a 64-bit key holds: SQLite cannot even bind it
PAST_MAX = str(2**63)  # one past the largest key


def test_ids_too_long_to_be_keys_are_404_on_every_database(client, vetter, user_factory, client_for):
    process, task = claimed(vetter)
    before = rows()
    urls = []
    for big in (TOO_LONG, PAST_MAX):
        urls += [
            f"/flows/integrity/{big}/",
            f"/flows/integrity/{big}/chart.svg",
            f"/flows/integrity/{big}/cancel/",
            f"/flows/integrity/{big}/vet/{task.pk}/",
            f"/flows/integrity/{process.pk}/vet/{big}/",
            *(f"/flows/integrity/{process.pk}/vet/{big}/{action}/" for action in TASK_ACTIONS),
            *(f"/flows/integrity/{big}/vet/{task.pk}/{action}/" for action in TASK_ACTIONS),
            f"/flows/helloworld/{big}/",
            f"/flows/helloworld/1/approve/{big}/",
        ]
    manager = client_for(user_factory("manager", superuser=True))
    for path in urls:
        for user_client in (manager, client):
            assert user_client.get(path).status_code == 404, path
            assert user_client.post(path, {"approved": "on", "user": vetter.pk}).status_code == 404, path
    assert rows() == before
    # the largest key is still a key: looked up, and not found
    assert manager.get(f"/flows/integrity/{2**63 - 1}/").status_code == 404
    assert manager.get(f"/flows/integrity/{process.pk}/").status_code == 200


@pytest.mark.parametrize(
    "query",
    [f"q={TOO_LONG}", f"q=%23{TOO_LONG}", f"q=%23{PAST_MAX}", "q=%00", "q=bad%00", "q=%C2%B2", "q=%23"],
)
def test_process_search_never_fails_on_odd_terms(query, client, vetter):
    claimed(vetter, "bad input")
    response = client.get(f"/flows/integrity/?{query}")
    assert response.status_code == 200, query
    assert "\x00" not in response.context["search"]  # dropped from the term
    # a number too long to be a key matches no key (and no text here)
    assert not response.context["object_list"] or query in ("q=%00", "q=bad%00"), query
    if query == "q=bad%00":
        assert len(response.context["object_list"]) == 1


def test_process_search_by_number_and_by_text_still_match(client, vetter):
    process, _task = claimed(vetter, "order 12345")
    for query in [str(process.pk), f"%23{process.pk}", "12345"]:
        response = client.get(f"/flows/integrity/?q={query}")
        assert process.pk in {p.pk for p in response.context["object_list"]}, query


def test_admin_search_never_fails_on_odd_terms(user_factory, client_for):
    admin = client_for(user_factory("boss", superuser=True))
    for path in ["/admin/viewflow/process/", "/admin/viewflow/task/", "/admin/helloworld/helloworldprocess/"]:
        for term in (TOO_LONG, f"#{PAST_MAX}", "\x00", "a\x00b", "²"):
            assert admin.get(path, {"q": term}).status_code == 200, (path, term)


# -- permissions ---------------------------------------------------------------------------


def test_users_without_permission_get_403_everywhere(user_factory, client_for, vetter):
    process, task = claimed(vetter)
    start_task = task_of(process, IntegrityFlow.start)
    outsider = client_for(user_factory("outsider"))
    before = rows()
    pages = [
        "/flows/integrity/",
        "/flows/integrity/start/",
        f"/flows/integrity/{process.pk}/",
        f"/flows/integrity/{process.pk}/chart.svg",
        f"/flows/integrity/{process.pk}/cancel/",
        f"/flows/integrity/{process.pk}/vet/{task.pk}/",
        *(f"/flows/integrity/{process.pk}/vet/{task.pk}/{action}/" for action in TASK_ACTIONS),
        *(f"/flows/integrity/{process.pk}/start/{start_task.pk}/{action}/" for action in ("detail", "cancel", "undo")),
    ]
    for path in pages:
        assert outsider.get(path).status_code == 403, path
        assert outsider.post(path, {"approved": "on", "text": "forged", "user": vetter.pk}).status_code == 403, path
    assert rows() == before


def test_a_colleague_may_not_do_or_manage_someone_elses_task(user_factory, client_for, vetter):
    process, task = claimed(vetter)
    colleague = client_for(user_factory("colleague", VET_PERM))
    before = rows()
    assert colleague.get(url(process, "vet", task, "detail")).status_code == 200  # may look
    for path in [
        url(process, "vet", task),  # someone else's task
        *(url(process, "vet", task, action) for action in ("unassign", "reassign", "cancel")),
        f"/flows/integrity/{process.pk}/cancel/",
    ]:
        assert colleague.get(path).status_code == 403, path
        assert colleague.post(path, {"approved": "on", "user": vetter.pk}).status_code == 403, path
    assert rows() == before


def test_anonymous_visitors_are_sent_to_login(vetter):
    process, task = claimed(vetter)
    anonymous = Client()
    before = rows()
    for path in ["/flows/", "/flows/inbox/", "/flows/integrity/", "/flows/integrity/start/",
                 f"/flows/integrity/{process.pk}/", url(process, "vet", task), url(process, "vet", task, "assign")]:
        for response in (anonymous.get(path), anonymous.post(path, {"approved": "on"})):
            assert response.status_code == 302 and "login" in response["Location"], path
    assert rows() == before


def test_post_without_csrf_token_is_403(vetter, user_factory):
    process, task = claimed(vetter)
    manager = user_factory("manager", superuser=True)
    before = rows()
    for user, path, data in [
        (vetter, "/flows/integrity/start/", {"text": "no token"}),
        (vetter, url(process, "vet", task), {"approved": "on"}),
        (vetter, url(process, "vet", task, "unassign"), {}),
        (manager, url(process, "vet", task, "cancel"), {}),
        (manager, f"/flows/integrity/{process.pk}/cancel/", {}),
    ]:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.post(path, data).status_code == 403, path
    assert rows() == before


# -- the same thing twice ------------------------------------------------------------------


def test_task_done_twice_gives_a_message_and_no_duplicate(client, vetter):
    process, task = claimed(vetter)
    first = client.post(url(process, "vet", task), {"approved": "on"})
    assert first.status_code == 302 and any("is done" in m for m in messages_of(first))
    after_first = rows()
    second = client.post(url(process, "vet", task), {"approved": ""})
    assert second.status_code == 302
    assert any("already done" in m for m in messages_of(second))
    assert rows() == after_first
    assert SampleProcess.objects.get(pk=process.pk).approved is True
    assert Task.objects.filter(process_id=process.pk, flow_task=IntegrityFlow.check).count() == 1


def test_claimed_twice_gives_a_message(client, vetter, user_factory, client_for):
    process = start_integrity("claim twice")
    task = task_of(process, IntegrityFlow.vet)
    colleague_user = user_factory("colleague", VET_PERM)
    assert client.post(url(process, "vet", task, "assign")).status_code == 302
    before = rows()
    for method in ("get", "post"):
        response = getattr(client_for(colleague_user), method)(url(process, "vet", task, "assign"))
        assert response.status_code == 302 and response["Location"] == url(process, "vet", task, "detail")
        # a whole sentence, not the action's code in one ("cannot be assign now")
        assert messages_of(response) == [f"Vet #{task.pk} cannot be claimed: it is no longer waiting in the queue."]
    assert rows() == before
    assert Task.objects.get(pk=task.pk).owner.username == "vetter"


def test_the_owner_claiming_their_own_task_is_sent_to_its_form(client, vetter):
    """The task is theirs already: no error, straight to the form (GET and POST alike)."""
    process, task = claimed(vetter)
    before = rows()
    for method in (client.get, client.post):
        response = method(url(process, "vet", task, "assign"))
        assert response.status_code == 302 and response["Location"] == url(process, "vet", task)
        assert messages_of(response) == []
    assert rows() == before


def test_an_operation_the_status_refuses_says_so_in_a_sentence(user_factory, client_for):
    process = start_integrity("not assigned yet")
    task = task_of(process, IntegrityFlow.vet)
    manager = user_factory("manager", superuser=True)
    cases = [
        ("unassign", "cannot be given back: it is not assigned and waiting to be done."),
        ("retry", "cannot be retried: it is not in error."),
        ("undo", "cannot be undone: it is not done."),
    ]
    before = rows()
    for action, sentence in cases:
        response = client_for(manager).post(url(process, "vet", task, action))
        assert response.status_code == 302 and response["Location"].endswith("/detail/"), action
        assert messages_of(response) == [f"Vet #{task.pk} {sentence}"], action
    assert rows() == before


def test_a_finished_process_offers_no_cancel_or_undo_page(user_factory, client_for):
    process = start_integrity("finished")
    task = task_of(process, IntegrityFlow.start)  # DONE
    Process.objects.filter(pk=process.pk).update(status="DONE")
    manager = client_for(user_factory("manager", superuser=True))
    before = rows()
    for method in (manager.get, manager.post):
        response = method(url(process, "start", task, "undo"))
        assert response.status_code == 302 and response["Location"].endswith("/detail/")
        assert f"Start #{task.pk} cannot be undone: its process is finished." in messages_of(response)
        response = method(f"/flows/{IntegrityFlow._meta.flow_label}/{process.pk}/cancel/")
        assert (
            response.status_code == 302
            and response["Location"] == f"/flows/{IntegrityFlow._meta.flow_label}/{process.pk}/"
        )
        assert f"{process} is finished: there is nothing to cancel." in messages_of(response)
    assert rows() == before
    detail = manager.get(url(process, "start", task, "detail")).content.decode()
    assert url(process, "start", task, "undo") not in detail


# -- rows tampered with in the database ------------------------------------------------------


def test_tampered_node_path_shows_unknown_and_pages_still_render(client, vetter, user_factory, client_for):
    process, task = claimed(vetter)
    Task.objects.filter(pk=task.pk).update(flow_task="tests.testapp.integrity_flows.IntegrityFlow.vanished")
    Task.objects.filter(pk=task_of(process, IntegrityFlow.start).pk).update(flow_task="no.such.module.Flow.start")
    manager = client_for(user_factory("manager", superuser=True))
    for viewer in (client, manager):
        for path in ["/flows/inbox/", "/flows/queue/", "/flows/archive/", "/flows/", "/flows/integrity/",
                     f"/flows/integrity/{process.pk}/", f"/flows/integrity/{process.pk}/chart.svg"]:
            response = viewer.get(path)
            assert response.status_code == 200, path
    inbox = client.get("/flows/inbox/").content.decode()
    assert "Unknown task" in inbox
    detail = manager.get(f"/flows/integrity/{process.pk}/").content.decode()
    assert detail.count("Unknown task") >= 2
    # the engine refuses to drive it, with a clear error
    with pytest.raises(FlowRuntimeError, match="names no known node"):
        with Task.objects.get(pk=task.pk).activation():
            pass


def test_tampered_flow_path_shows_unknown_and_pages_still_render(client, vetter, user_factory, client_for):
    process, task = claimed(vetter)
    Process.objects.filter(pk=process.pk).update(flow_class="tests.testapp.integrity_flows.VanishedFlow")
    assert Process.objects.get(pk=process.pk).flow_class is None
    assert "Unknown flow" in str(Process.objects.get(pk=process.pk))
    manager = client_for(user_factory("manager", superuser=True))
    for viewer in (client, manager):
        for path in ["/flows/inbox/", "/flows/queue/", "/flows/archive/", "/flows/", "/flows/integrity/"]:
            assert viewer.get(path).status_code == 200, path
        # the process no longer belongs to the flow its URL names
        assert viewer.get(f"/flows/integrity/{process.pk}/").status_code == 404
    assert f"#{process.pk}" not in manager.get("/flows/integrity/").content.decode()


# -- faults around the step ---------------------------------------------------------------


def test_database_error_mid_step_rolls_back_and_the_step_can_be_redone(vetter, monkeypatch):
    from django.db import DatabaseError, connection

    from viewflow.activation import Step

    process, task = claimed(vetter)
    before = rows()
    original = Step.set_process_status
    failures = []

    def broken(self, *args, **kwargs):
        if not failures:
            failures.append(1)
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table_integrity")  # a real error from the database
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Step, "set_process_status", broken)
    with pytest.raises(DatabaseError):
        with task.activation() as activation:
            activation.process.approved = False
            activation.process.save(update_fields=["approved"])
            activation.done(by=vetter)
    assert rows() == before
    with Task.objects.get(pk=task.pk).activation() as activation:  # redo
        activation.done(by=vetter)
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.DONE


@pytest.mark.django_db(transaction=True)  # the dispatch runs on a real commit
def test_exception_in_on_commit_dispatch_leaves_the_job_scheduled_and_visible(user_factory, client_for, monkeypatch):
    from tests.testapp import integrity_flows

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(integrity_flows.integrity_job, "apply", broker_down)
    monkeypatch.setattr(integrity_flows.integrity_job, "apply_async", broker_down)
    integrity_flows.JOB_RUNS.clear()
    process = JobFlow.start.run(text="queued")  # the committed step is not turned into an error
    crunch = task_of(process, JobFlow.crunch)
    assert crunch.status == TaskStatus.SCHEDULED and "broker down" in crunch.error
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.STARTED
    manager = client_for(user_factory("manager", superuser=True))
    page = manager.get(f"/flows/job/{process.pk}/").content.decode()
    assert "Crunch" in page and "Scheduled" in page
    assert "broker down" in manager.get(url(process, "crunch", crunch, "detail")).content.decode()

    monkeypatch.undo()  # the broker is back: a retry sends a new message and the job runs once
    with Task.objects.get(pk=crunch.pk).activation() as activation:
        activation.retry(scheduled=True)
    JobFlow.crunch.dispatch(Task.objects.get(pk=crunch.pk))  # a late duplicate message changes nothing
    crunch.refresh_from_db()
    assert crunch.status == TaskStatus.DONE and crunch.error == ""
    assert [run[0] for run in integrity_flows.JOB_RUNS] == [crunch.pk]


def test_a_finished_task_is_a_403_for_who_may_not_see_its_process(client, vetter, user_factory, client_for):
    process, task = claimed(vetter)
    assert client.post(url(process, "vet", task), {"text": "done"}).status_code == 302  # vetted: DONE
    nobody = client_for(user_factory("nobody"))
    assert nobody.get(url(process, "vet", task)).status_code == 403
    seen = client.get(url(process, "vet", task))  # the vetter may see the process: sent there
    assert seen.status_code == 302 and seen["Location"] == f"/flows/{IntegrityFlow._meta.flow_label}/{process.pk}/"
