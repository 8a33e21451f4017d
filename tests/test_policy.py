"""One table of task rules and one policy class per flow: everyone reads them, a project changes them in one place."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.urls import include, path

from tests.testapp.flows import CodeStartFlow, OwnTextPolicy, PolicyFlow
from tests.utils import task_of
from viewflow import operations, rules
from viewflow.admin import TaskAdmin
from viewflow.base import Flow
from viewflow.exceptions import FlowIllegalTransition
from viewflow.models import Task
from viewflow.permissions import task_permissions
from viewflow.policy import FlowPolicy
from viewflow.site import viewsite
from viewflow.status import RUNNING_PROCESS_STATUSES, ProcessStatus, TaskStatus
from viewflow.views.urls import process_url, task_url

pytestmark = pytest.mark.django_db

REVIEW = "testapp.review_sample"


@pytest.fixture
def manager(user_factory):
    return user_factory("manager", "viewflow.change_task")


@pytest.fixture
def policy_site():
    """PolicyFlow on the site, with a URLconf built once it is registered."""

    class urls:
        urlpatterns = [path("flows/", include(viewsite.urls))]

    viewsite.register(PolicyFlow)
    try:
        with override_settings(ROOT_URLCONF=urls):
            yield
    finally:
        viewsite.unregister(PolicyFlow)


def test_every_flow_has_a_policy_of_its_policy_class():
    assert isinstance(CodeStartFlow.policy, FlowPolicy) and type(CodeStartFlow.policy) is FlowPolicy
    assert CodeStartFlow.policy is CodeStartFlow.policy and CodeStartFlow.policy.flow_class is CodeStartFlow
    assert type(PolicyFlow.policy) is OwnTextPolicy
    assert Flow.policy_class is FlowPolicy


def test_the_running_process_statuses_are_one_constant():
    assert RUNNING_PROCESS_STATUSES == (ProcessStatus.NEW, ProcessStatus.STARTED, ProcessStatus.ERROR)
    process = CodeStartFlow.start.run(text="x")
    assert process.is_active
    operations.cancel_process(process)
    assert not process.is_active


def test_the_policy_decides_who_may_cancel_for_the_engine_the_pages_and_the_admin(manager, user_factory, rf):
    root = user_factory("root", superuser=True)
    process = PolicyFlow.start.run(text="manager")
    task = task_of(process, PolicyFlow.review)
    assert "cancel" not in task_permissions(manager, task)  # the button
    with pytest.raises(PermissionDenied):  # the engine
        operations.cancel(task, by=manager)
    assert "cancel" in task_permissions(root, task)
    assert operations.cancel(task, by=root).status == TaskStatus.CANCELED
    # a flow without that policy: managers cancel
    other = task_of(CodeStartFlow.start.run(text="x"), CodeStartFlow.approve)
    assert "cancel" in task_permissions(manager, other)


def test_the_policy_decides_which_processes_and_tasks_a_user_sees(policy_site, user_factory, client_for):
    anna = user_factory("anna", REVIEW)
    hers = PolicyFlow.start.run(text="anna")
    his = PolicyFlow.start.run(text="bert")
    her_task, his_task = task_of(hers, PolicyFlow.review), task_of(his, PolicyFlow.review)
    client = client_for(anna)
    listing = client.get("/flows/policy/").content.decode()
    assert process_url(hers) in listing and process_url(his) not in listing
    assert client.get(process_url(hers)).status_code == 200
    assert client.get(process_url(his)).status_code == 404
    assert client.get(task_url(his_task, "detail")).status_code == 404
    assert client.post(task_url(his_task, "assign")).status_code == 404  # under the lock too
    queue = client.get("/flows/queue/").content.decode()
    assert task_url(her_task, "assign") in queue and task_url(his_task, "assign") not in queue
    queue = client.get("/flows/queue/?flow=policy").content.decode()
    assert task_url(her_task, "assign") in queue and task_url(his_task, "assign") not in queue
    # she claims and opens her own task; his task's form is not found for her
    assert client.post(task_url(her_task, "assign")).status_code == 302
    assert client.get(task_url(her_task)).status_code == 200
    assert client.get(task_url(his_task)).status_code == 404
    his_task.refresh_from_db()
    assert his_task.status == TaskStatus.NEW
    bert = client_for(user_factory("bert", REVIEW))  # he sees his own
    assert bert.get(process_url(his)).status_code == 200 and bert.get(process_url(hers)).status_code == 404


def test_one_table_of_rules_is_what_the_engine_the_buttons_the_pages_and_the_admin_read(
    monkeypatch, manager, client_for, rf
):
    """Narrow one rule in the table: every reader follows."""
    clerk_task = task_of(CodeStartFlow.start.run(text="x"), CodeStartFlow.approve)
    clerk_task = operations.assign(clerk_task, manager)  # ASSIGNED
    assert rules.state_allows("reassign", clerk_task)
    assert "reassign" in task_permissions(manager, clerk_task)
    monkeypatch.setitem(rules.TASK_RULES, "reassign", rules.TASK_RULES["reassign"]._replace(statuses=(TaskStatus.NEW,)))
    assert not rules.state_allows("reassign", clerk_task)
    assert "reassign" not in task_permissions(manager, clerk_task)  # the button
    with pytest.raises(FlowIllegalTransition, match="cannot be reassigned: its status is Assigned"):
        operations.reassign(clerk_task, manager, by=manager)  # the engine
    response = client_for(manager).get(task_url(clerk_task, "reassign"))  # the page says why, no form
    assert response.status_code == 302 and response["Location"] == task_url(clerk_task, "detail")
    assert rules.statuses_for("reassign") == (TaskStatus.NEW,)  # what the admin's action filters by
    admin = TaskAdmin(Task, None)
    request = rf.post("/")
    request.user = manager
    messages = []
    admin.message_user = lambda request, message, level=None: messages.append(str(message))
    assert admin.reassign_tasks(request, Task.objects.filter(pk=clerk_task.pk)) is None
    assert messages == ["Only new or assigned tasks can be reassigned."]


def test_a_legacy_can_manage_override_still_decides(user_factory):
    """A flow overriding ``Flow.can_manage`` (the 0.1 way) keeps its rule: the policy asks the flow."""

    class Legacy(CodeStartFlow):
        @classmethod
        def can_manage(cls, user):
            return user.username == "boss"

    boss, manager = user_factory("boss"), user_factory("manager", "viewflow.change_task")
    assert Legacy.policy.can_cancel(boss, None) and not Legacy.policy.can_cancel(manager, None)
    assert Legacy.has_view_permission(boss)


def test_a_subclass_may_swap_the_policy_class_later():
    class Swapped(CodeStartFlow):
        pass

    assert type(Swapped.policy) is FlowPolicy
    Swapped.policy_class = OwnTextPolicy
    assert type(Swapped.policy) is OwnTextPolicy and Swapped.policy.flow_class is Swapped
