"""Small helpers the engine tests share."""

from viewflow.models import Task


def fresh(process):
    """``process`` re-read from the database (as its own model)."""
    return type(process)._default_manager.get(pk=process.pk)


def tasks_of(process):
    """``[(node name, status), ...]`` of a process's tasks, oldest first."""
    return [(task.flow_task.name, task.status) for task in Task.objects.filter(process_id=process.pk).order_by("pk")]


def statuses(process, node):
    """The statuses of the tasks of ``node`` in ``process``, oldest first."""
    return list(
        Task.objects.filter(process_id=process.pk, flow_task=node).order_by("pk").values_list("status", flat=True)
    )


def task_of(process, node, **filters):
    """The one task of ``node`` in ``process`` (matching ``filters``)."""
    return node.flow_class.task_cls._default_manager.get(process_id=process.pk, flow_task=node, **filters)


def do_task(task, user=None):
    """Assign a person's task (to ``user``, or keep its owner) and complete it, as two steps."""
    if user is not None and task.owner_id is None:
        with task.activation() as activation:
            activation.assign(user)
    with task.activation() as activation:
        activation.done()
    return activation
