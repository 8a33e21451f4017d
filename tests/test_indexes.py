"""The site's task lists read from the task table's indexes, partial ones included.

A partial index serves a query only when the database can tell that the query's
filter implies the index's condition; SQLite tells it only from a matching term.
A change to the filters or to the indexes that loses this makes these fail.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from viewflow.models import Task
from viewflow.views.lists import archive_filter, inbox_filter, queue_filter

pytestmark = pytest.mark.django_db

NEWEST_FIRST = ("-created", "-pk")


@pytest.fixture
def plan():
    """The query plan of a queryset, with sequential scans off on PostgreSQL (its tables here are tiny)."""

    def explain(queryset):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()

    return explain


def test_a_permission_queue_reads_the_index_of_new_tasks(user_factory, plan):
    user = user_factory("claimer", "helloworld.can_approve_helloworldprocess")
    queue = Task.objects.filter(queue_filter(user)).order_by(*NEWEST_FIRST)[:20]
    assert "vf_task_queue" in plan(queue)


def test_inbox_and_archive_read_the_indexes_of_owned_tasks(plan):
    user = get_user_model().objects.create_user("worker")
    inbox = plan(Task.objects.filter(inbox_filter(user)).order_by(*NEWEST_FIRST)[:20])
    assert "vf_task_inbox" in inbox or "vf_task_archive" in inbox  # without statistics SQLite may take either
    assert "vf_task_archive" in plan(Task.objects.filter(archive_filter(user)).order_by("-finished")[:20])


def test_a_user_deleted_finds_their_tasks_by_index(plan):
    """Deleting a user sets the owner of their tasks to NULL: the owned-tasks index finds them."""
    user = get_user_model().objects.create_user("leaver")
    assert "vf_task_archive" in plan(Task.objects.filter(owner__in=[user.pk]))


def test_a_task_link_has_no_index_of_its_own_on_from_task():
    """The unique (from_task, to_task) index serves ``task.previous``; a second one would be written for nothing."""
    link = Task.previous.through
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, link._meta.db_table)
    on_from_task = [
        c for c in constraints.values() if (c["index"] or c["unique"]) and c["columns"][:1] == ["from_task_id"]
    ]
    assert [c["columns"] for c in on_from_task] == [["from_task_id", "to_task_id"]]
    assert all(c["unique"] for c in on_from_task)


def test_the_scheduler_reads_the_index_of_waiting_timers(plan):
    """``status = 'SCHEDULED' AND due IS NOT NULL AND due <= now ORDER BY due``: the partial vf_task_due index."""
    import datetime

    from django.utils import timezone

    from viewflow.scheduler import due_timers

    now = timezone.now() + datetime.timedelta(days=1)
    assert "vf_task_due" in plan(due_timers(now)[:100])
    if connection.vendor == "postgresql":  # the batch as it is taken: processes locked, busy ones skipped
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        locked = (
            due_timers(now)
            .select_related("process")
            .only("pk", "process_id", "flow_task", "due", "process__status")
            .select_for_update(skip_locked=True, of=("process",))[:100]
        )
        from django.db import transaction

        with transaction.atomic():
            assert "vf_task_due" in locked.explain()
