"""viewflow.lock.read_task: a task and its process, as the flow's process class, in one statement."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.testapp.flows import CodeStartFlow
from tests.testapp.models import DetailedSampleProcess, SampleProcess, SampleProcessProxy
from viewflow.lock import read_task
from viewflow.models import Process, Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "process_cls, fields",
    [
        (Process, {}),
        (SampleProcess, {"text": "sample"}),
        (SampleProcessProxy, {"text": "proxy"}),
        (DetailedSampleProcess, {"text": "two tables down", "detail": "own column"}),
    ],
)
@pytest.mark.parametrize("for_update", [False, True])
@pytest.mark.parametrize("direct", [True, False], ids=["direct-sql", "orm"])
def test_reads_the_task_with_its_process_of_the_flows_class(process_cls, fields, for_update, direct, monkeypatch):
    if not direct:  # what a database other than SQLite and PostgreSQL runs
        monkeypatch.setattr("viewflow.statements.takes_direct_path", lambda using: False)
    concrete = process_cls._meta.concrete_model
    process = concrete.objects.create(flow_class=CodeStartFlow, status="STARTED", **fields)
    task = Task.objects.create(process=process, flow_task=CodeStartFlow.start, flow_task_type="START", status="DONE")
    flow_class = SimpleNamespace(process_cls=process_cls, task_cls=Task)
    with CaptureQueriesContext(connection) as reads:
        read = read_task(flow_class, process.pk, task.pk, "default", for_update=for_update)
    assert len(reads) == 1
    assert read.pk == task.pk and read.status == "DONE"
    assert type(read.process) is process_cls
    assert read.process.pk == process.pk and read.process.status == "STARTED"
    for name, value in fields.items():
        assert getattr(read.process, name) == value
    with pytest.raises(Task.DoesNotExist):  # a task of another process
        read_task(flow_class, process.pk + 1000, task.pk, "default")
