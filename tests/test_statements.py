"""viewflow.statements: the engine's hand-written statements give what the ORM gives."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext, isolate_apps
from django.utils import timezone

from tests.testapp.flows import CodeStartFlow
from tests.testapp.models import DetailedSampleProcess, SampleProcess, SampleTask
from viewflow import statements
from viewflow.models import Process, Task

pytestmark = pytest.mark.django_db

direct_only = pytest.mark.skipif(
    not statements.takes_direct_path("default"), reason="the direct statements are for SQLite and PostgreSQL"
)


def _fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _process(**fields):
    return DetailedSampleProcess.objects.create(flow_class=CodeStartFlow, status="STARTED", **fields)


def _task(process, **fields):
    return Task.objects.create(process=process, flow_task=CodeStartFlow.approve, flow_task_type="HUMAN", **fields)


@direct_only
def test_the_joined_read_gives_the_instances_the_orm_gives():
    process = _process(text="ünïcode", items=["a", {"b": 1}], detail="deep")
    owner = get_user_model().objects.create_user("owner")
    task = _task(process, status="ASSIGNED", owner=owner, started=timezone.now(), data={"k": [1, 2]}, token="1/s.2")
    with CaptureQueriesContext(connection) as reads:
        read = statements.select_task_and_process(Task, DetailedSampleProcess, "default", task.pk, process.pk)
    assert len(reads) == 1
    assert _fields(read) == _fields(Task.objects.get(pk=task.pk))
    assert type(read.process) is DetailedSampleProcess
    assert _fields(read.process) == _fields(DetailedSampleProcess.objects.get(pk=process.pk))
    assert read.flow_task is CodeStartFlow.approve and read.process.flow_class is CodeStartFlow
    assert not read._state.adding and read._state.db == "default"
    with pytest.raises(Task.DoesNotExist):
        statements.select_task_and_process(Task, DetailedSampleProcess, "default", task.pk, process.pk + 1)


@pytest.fixture(params=[True, False], ids=["direct-sql", "orm"])
def direct(request, monkeypatch):
    """Both paths: the statements written here, and the querysets other databases run."""
    if not request.param:
        monkeypatch.setattr("viewflow.statements.takes_direct_path", lambda using: False)
    return request.param


def test_a_conditional_update_writes_what_queryset_update_writes(direct):
    process = _process()
    owner = get_user_model().objects.create_user("owner")
    task, twin = _task(process), _task(process)
    now = timezone.now()
    values = {"status": "ASSIGNED", "owner": owner, "started": now, "data": {"note": "x"}}
    assert statements.update_if_status(Task, "default", task.pk, ("NEW",), values) == 1
    assert Task.objects.filter(pk=twin.pk, status="NEW").update(**values) == 1
    same = {"id": 0, "created": None}
    assert _fields(Task.objects.get(pk=task.pk)) | same == _fields(Task.objects.get(pk=twin.pk)) | same
    # a status that no longer holds updates nothing
    assert statements.update_if_status(Task, "default", task.pk, ("NEW", "STARTED"), {"owner": None}) == 0
    assert Task.objects.get(pk=task.pk).owner_id == owner.pk
    assert (
        statements.update_if_status(Process, "default", process.pk, ("STARTED",), {"status": "DONE", "finished": now})
        == 1
    )
    assert Process.objects.get(pk=process.pk).finished == now


def test_one_insert_sets_keys_and_defaults_as_bulk_create_does(direct):
    process = _process()
    before = timezone.now() - timedelta(seconds=1)
    tasks = [
        SampleTask(process=process, flow_task=CodeStartFlow.approve, flow_task_type="HUMAN", token=f"t{i}")
        for i in range(3)
    ]
    with CaptureQueriesContext(connection) as writes:
        statements.insert_rows(SampleTask, "default", tasks)
    if direct and statements.takes_direct_path("default"):
        assert len(writes) == 1
    assert all(task.pk and not task._state.adding for task in tasks)
    for task in tasks:
        saved = Task.objects.get(pk=task.pk)
        assert saved.token == task.token and saved.created == task.created and saved.created > before
        assert saved.status == "NEW" and saved.data == {} and saved.owner_id is None
    through = Task.previous.through
    statements.insert_rows(through, "default", [through(from_task_id=tasks[1].pk, to_task_id=tasks[0].pk)])
    assert list(Task.objects.get(pk=tasks[1].pk).previous.all()) == [Task.objects.get(pk=tasks[0].pk)]
    # rows nobody reads back go in as plain values
    links = [(tasks[2].pk, tasks[0].pk), (tasks[2].pk, tasks[1].pk)]
    statements.insert_values(through, "default", ("from_task", "to_task"), links)
    assert set(Task.objects.get(pk=tasks[2].pk).previous.values_list("pk", flat=True)) == {tasks[0].pk, tasks[1].pk}


def test_more_rows_than_one_statement_takes_go_through_bulk_create():
    process = _process()
    tasks = [Task(process=process, flow_task=CodeStartFlow.approve, flow_task_type="HUMAN") for _ in range(120)]
    statements.insert_rows(Task, "default", tasks)  # 120 x 13 parameters: more than SQLite's 999
    assert len({task.pk for task in tasks}) == 120 and Task.objects.filter(process=process).count() == 120


def test_the_join_lookup_finds_its_task_and_an_open_branch(direct):
    from tests.testapp.integrity_flows import ParallelFlow
    from viewflow.activation import run_step

    process = ParallelFlow.start.run(branches=3)
    first, second, third = Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.branch).order_by("pk")
    group = first.token.rpartition(".")[0]
    with run_step(ParallelFlow, process.pk) as step:
        assert ParallelFlow.gather._find(step, group) == (None, True)  # no join task yet, branches open
    ParallelFlow.branch.run(first)
    ParallelFlow.branch.run(second)
    join = Task.objects.get(process_id=process.pk, flow_task=ParallelFlow.gather)
    with run_step(ParallelFlow, process.pk) as step:
        found, still_open = ParallelFlow.gather._find(step, group)
        assert found.pk == join.pk and found.status == "STARTED" and found.flow_task is ParallelFlow.gather
        assert still_open  # the third branch
        step.tasks.append(Task.objects.get(pk=third.pk))  # a task this step holds is counted from memory
        assert ParallelFlow.gather._find(step, group)[1] is False
    ParallelFlow.branch.run(third)
    assert Task.objects.get(pk=join.pk).status == "DONE"


@pytest.mark.parametrize("model", [SampleProcess, Process, DetailedSampleProcess], ids=["child", "base", "grandchild"])
def test_a_new_process_is_inserted_as_save_inserts_it(direct, model):
    fields = {"text": "ünïcode", "items": ["a", {"b": 1}]} if model is not Process else {}
    process, twin = (model(flow_class=CodeStartFlow, status="STARTED", **fields) for _ in range(2))
    with CaptureQueriesContext(connection) as writes:
        statements.insert_process(process, "default")
    twin.save()
    if direct and statements.takes_direct_path("default") and model is not DetailedSampleProcess:
        assert [sql.split()[0] for sql in (q["sql"] for q in writes)] == ["INSERT"] * (
            2 if model is SampleProcess else 1
        )
    assert not process._state.adding and process._state.db == "default"
    saved, saved_twin = model.objects.get(pk=process.pk), model.objects.get(pk=twin.pk)
    same = {"id": 0, "process_ptr_id": 0, "sampleprocess_ptr_id": 0, "created": None}
    assert {**_fields(saved), **same} == {**_fields(saved_twin), **same}
    assert saved.created == process.created and Process.objects.get(pk=process.pk).flow_class is CodeStartFlow
    task = Task(process=process, flow_task=CodeStartFlow.approve, flow_task_type="HUMAN")
    assert task.process_id == process.pk  # the key Task's foreign key reads is set too


def test_a_process_model_someone_hooks_into_is_saved_by_save():
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((sender, instance.text, created))

    post_save.connect(receiver, sender=SampleProcess)
    try:
        process = SampleProcess(flow_class=CodeStartFlow, status="STARTED", text="hooked")
        statements.insert_process(process, "default")
    finally:
        post_save.disconnect(receiver, sender=SampleProcess)
    assert seen == [(SampleProcess, "hooked", True)]
    assert SampleProcess.objects.get(pk=process.pk).text == "hooked"


@isolate_apps("tests.testapp")
def test_only_plain_process_models_skip_save():
    class OwnSave(Process):
        class Meta:
            app_label = "testapp"

        def save(self, *args, **kwargs):
            super().save(*args, **kwargs)

    class Plain(Process):
        class Meta:
            app_label = "testapp"

    class Deeper(Plain):
        class Meta:
            app_label = "testapp"

    assert statements._saved_plainly(Plain) and statements._saved_plainly(Process)
    assert not statements._saved_plainly(OwnSave) and not statements._saved_plainly(Deeper)


@pytest.mark.parametrize("model", [SampleProcess, DetailedSampleProcess], ids=["child", "grandchild"])
def test_saving_a_process_writes_what_save_with_update_fields_writes(direct, model):
    process, twin = (model.objects.create(flow_class=CodeStartFlow, status="STARTED", text="a") for _ in range(2))
    for instance in (process, twin):
        instance.text, instance.items, instance.status = "b", [1, {"c": None}], "DONE"  # status: the engine's
    with CaptureQueriesContext(connection) as writes:
        process.save()
    own = [f.name for f in model._meta.concrete_fields if not f.primary_key and f.name not in Process.ENGINE_FIELDS]
    twin.save(update_fields=own)
    if direct and statements.takes_direct_path("default") and model is SampleProcess:
        assert [q["sql"].split()[0] for q in writes] == ["UPDATE"]
    same = {"id": 0, "process_ptr_id": 0, "sampleprocess_ptr_id": 0, "created": None}
    saved = model.objects.get(pk=process.pk)
    assert {**_fields(saved), **same} == {**_fields(model.objects.get(pk=twin.pk)), **same}
    assert saved.text == "b" and saved.status == "STARTED"


def test_saving_a_deleted_or_hooked_process_behaves_as_save():
    process = SampleProcess.objects.create(flow_class=CodeStartFlow, status="STARTED", text="a")
    seen = []

    def receiver(sender, instance, update_fields, **kwargs):
        seen.append(sorted(update_fields))

    pre_save.connect(receiver, sender=SampleProcess)
    try:
        process.save()
    finally:
        pre_save.disconnect(receiver, sender=SampleProcess)
    assert seen == [["approved", "count", "items", "text"]]
    Process.objects.filter(pk=process.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        process.save()
    deferred = SampleProcess.objects.create(flow_class=CodeStartFlow, status="STARTED", text="a")
    partial = SampleProcess.objects.only("pk", "text").get(pk=deferred.pk)
    partial.text = "b"
    partial.save()  # the deferred fields are loaded and written back as they were
    assert SampleProcess.objects.get(pk=deferred.pk).text == "b"


def test_saving_named_fields_of_the_own_table_takes_one_update_and_others_go_through_save():
    process = SampleProcess.objects.create(flow_class=CodeStartFlow, status="STARTED", text="a", count=1)
    process.text, process.count, process.status = "b", 2, "DONE"
    with CaptureQueriesContext(connection) as writes:
        process.save(update_fields=["text"])
    if statements.takes_direct_path("default"):
        assert [q["sql"].split()[0] for q in writes] == ["UPDATE"]
    saved = SampleProcess.objects.get(pk=process.pk)
    assert (saved.text, saved.count, saved.status) == ("b", 1, "STARTED")
    process.save(update_fields=["status"])  # an engine column, named: Django's save writes it
    assert SampleProcess.objects.get(pk=process.pk).status == "DONE"
    with pytest.raises(ValueError, match="do not exist"):
        process.save(update_fields=["no_such_field"])
