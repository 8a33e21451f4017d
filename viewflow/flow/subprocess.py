"""Subprocess and NSubprocess: a task that starts processes of another flow and waits until they end.

``flow.Subprocess(OtherFlow.start, data=callable(activation) -> kwargs)``
starts one child through the other flow's ``StartFunction``, in the step that
reached the node; ``flow.NSubprocess(OtherFlow.start, items=callable(activation))``
starts one child per item (all at once, or one after another with
``sequential=True``). Each child's ``parent_task`` is the waiting task. The
task is DONE, and the flow goes on, once every child is DONE; a child
canceled or in ERROR puts the task in ERROR naming it, and ``retry`` starts a
fresh child in its place. How parent and child lock each other and why the
flow goes on exactly once: :mod:`viewflow.lineage`.

The task keeps its children in ``task.data``: ``{"children": [process key per
item], "count": number of items}``.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.utils import timezone
from django.utils.translation import gettext as _

from .. import signals
from ..activation import WaitingActivation, refresh_error_status, undoable
from ..exceptions import FlowIllegalTransition, FlowRuntimeError
from ..lineage import cancel_child
from ..models import Process
from ..references import NodeRef
from ..status import ProcessStatus, TaskStatus
from .base import WaitingTask
from .start import StartFunction

__all__ = ["Subprocess", "NSubprocess", "SubprocessActivation"]

#: statuses of a child that put its parent's task in ERROR
_FAILED = (ProcessStatus.CANCELED, ProcessStatus.ERROR)


def _key(pk):
    """A process key as ``task.data`` stores it (a JSON string, whatever the key's type)."""
    return str(pk)


class SubprocessActivation(WaitingActivation):
    """The waiting task of a Subprocess node: starts its children, looks at them when one changes.

    :meth:`run` when the flow reaches the node, :meth:`look` whenever a child
    changes status (called under the parent's lock, see
    :func:`viewflow.lineage.notify_parent`), which resumes the task
    (``WaitingActivation.resume``) once every child is DONE; :meth:`retry` by a manager.
    """

    @property
    def children(self):
        """Keys of the current child of each item started so far (replaced ones are left out)."""
        return (self.task.data or {}).get("children")

    # -- starting ----------------------------------------------------------------------

    def run(self):
        """Start the children (the first one only, if sequential); the task then waits for them.

        The node's callables and the children's start functions run in a
        savepoint: if one raises, no child is kept, the task is saved in ERROR
        with the traceback and the step that reached the node is kept.
        """
        step, task = self.step, self.task
        step.insert(task)  # the children's parent_task must name a row
        try:
            with undoable(step.using):
                items = self.flow_task.items_of(self)
                state = {"children": [], "count": len(items)}
                statuses = {}
                first = items[:1] if self.flow_task.sequential else items
                with self._busy():
                    for item in first:
                        child = self.start_child(item)
                        state["children"].append(_key(child.pk))
                        statuses[_key(child.pk)] = child.status
                step.update_task(task, (task.status,), data=state)
        except Exception as exc:
            self.process.refresh_from_db(using=step.using)
            self.fail(exc)
            return
        self.look(statuses)

    def start_child(self, item):
        """Start one child for ``item`` through the other flow's StartFunction; returns its process."""
        node = self.flow_task
        kwargs = node.child_kwargs(self, item)
        return node.start_node.run_with(node.start_node.flow_class.process_cls(parent_task=self.task), **kwargs)

    @contextmanager
    def _busy(self):
        """While the task starts children, news from them waits (they may end before the others start)."""
        self.step.busy.add(self.task.pk)
        try:
            yield
        finally:
            self.step.busy.discard(self.task.pk)

    # -- a child changed ---------------------------------------------------------------

    def look(self, statuses=None):
        """Look at the children and act: ERROR if one failed, the next one if sequential, DONE when all are.

        ``statuses`` (child key → status) saves reading those just started.
        """
        task = self.task
        if task.status not in (TaskStatus.STARTED, TaskStatus.ERROR):
            return
        children = self.children
        if children is None:  # starting them failed: the task waits for a retry
            return
        statuses = dict(statuses or {})
        unknown = [key for key in children if key not in statuses]
        if unknown:
            statuses.update(self._read_statuses(unknown))
        failed = [key for key in children if statuses.get(key, ProcessStatus.CANCELED) in _FAILED]
        if failed:
            self.fail_for(failed, statuses)
            return
        if task.status == TaskStatus.ERROR:  # the failed child was retried and recovered
            self.step.update_task(task, (TaskStatus.ERROR,), status=TaskStatus.STARTED, error="")
            refresh_error_status(self.step)
        count = task.data["count"]
        if self.flow_task.sequential and len(children) < count and all(
            statuses[key] == ProcessStatus.DONE for key in children
        ):
            self._start_next(statuses)
            return
        if len(children) == count and all(statuses[key] == ProcessStatus.DONE for key in children):
            self.resume(statuses=statuses)

    def _start_next(self, statuses):
        """Sequential: start the children after the last DONE one, until one waits (or fails, or all are DONE)."""
        step, task = self.step, self.task
        state = dict(task.data)
        children = list(state["children"])
        try:
            with undoable(step.using):
                items = self.flow_task.items_of(self)
                self._check_count(items, state["count"])
                with self._busy():
                    while len(children) < state["count"] and all(
                        statuses[key] == ProcessStatus.DONE for key in children
                    ):
                        child = self.start_child(items[len(children)])
                        children.append(_key(child.pk))
                        statuses[_key(child.pk)] = child.status
                step.update_task(task, (task.status,), data={**state, "children": children})
        except Exception as exc:
            self.process.refresh_from_db(using=step.using)
            self.fail(exc)
            return
        self.look(statuses)

    def check_done(self, statuses=None):
        """Raise unless every child of the task is started and DONE (``statuses`` saves reading them)."""
        children = self.children or []
        statuses = dict(statuses or {})
        missing = [key for key in children if key not in statuses]
        if missing:
            statuses.update(self._read_statuses(missing))
        waiting = [key for key in children if statuses.get(key) != ProcessStatus.DONE]
        count = (self.task.data or {}).get("count")
        if waiting or count is None or len(children) < count:
            raise FlowIllegalTransition(
                _("%(node)s cannot go on: %(waiting)s of its %(count)s child processes are not done.")
                % {
                    "node": self.flow_task.name,
                    "waiting": len(waiting) + (count or 0) - len(children),
                    "count": count or 0,
                }
            )

    def _read_statuses(self, keys):
        rows = Process._base_manager.using(self.step.using).filter(pk__in=keys).values_list("pk", "status")
        return {_key(pk): status for pk, status in rows}

    def fail_for(self, failed, statuses):
        """Put the task in ERROR with a message naming each failed child (once per change)."""
        title = self.flow_task.start_node.flow_class._meta.title
        lines = []
        for key in failed:
            status = statuses.get(key)
            if status == ProcessStatus.ERROR:
                text = _("Child process #%(pk)s (%(flow)s) is in error.")
            elif status == ProcessStatus.CANCELED:
                text = _("Child process #%(pk)s (%(flow)s) was canceled.")
            else:
                text = _("Child process #%(pk)s (%(flow)s) is gone.")
            lines.append(text % {"pk": key, "flow": title})
        message = "\n".join(lines)
        step, task = self.step, self.task
        if task.status == TaskStatus.ERROR and task.error == message:
            return
        step.update_task(task, (task.status,), status=TaskStatus.ERROR, error=message)
        step.set_process_status(ProcessStatus.ERROR)
        step.emit(signals.task_failed, process=self.process, task=task, exception=FlowRuntimeError(message))

    # -- a manager's retry -------------------------------------------------------------

    def retry(self, by=None):
        """Start a fresh child for each one canceled or in ERROR (one in ERROR is canceled first).

        A task whose children could not be started at all starts them again.
        The fresh children get the items the node's callables give now.
        """
        self.check("retry", by)
        step, task = self.step, self.task
        if self.children is None:
            step.update_task(task, (TaskStatus.ERROR,), status=TaskStatus.STARTED, error="")
            refresh_error_status(step)
            self.run()
            return
        state = dict(task.data)
        children = list(state["children"])
        statuses = self._read_statuses(children)
        try:
            with undoable(step.using):
                items = None
                with self._busy():
                    for n, key in enumerate(children):
                        status = statuses.get(key, ProcessStatus.CANCELED)
                        if status not in _FAILED:
                            continue
                        if status == ProcessStatus.ERROR:
                            cancel_child(step, self.flow_task.start_node.flow_class, key, task.pk)
                        if items is None:
                            items = self.flow_task.items_of(self)
                            self._check_count(items, state["count"])
                        child = self.start_child(items[n])
                        children[n] = _key(child.pk)
                        statuses[children[n]] = child.status
                step.update_task(
                    task, (TaskStatus.ERROR,), status=TaskStatus.STARTED, error="", data={**state, "children": children}
                )
                refresh_error_status(step)
        except Exception as exc:
            self.process.refresh_from_db(using=step.using)
            self.fail(exc)
            return
        self.look(statuses)

    def _check_count(self, items, count):
        if len(items) != count:
            raise FlowRuntimeError(
                _("%(node)s: items() now gives %(now)s items, not the %(count)s it started with.")
                % {"node": self.flow_task.name, "now": len(items), "count": count}
            )


class Subprocess(WaitingTask):
    """Start a process of another flow through its ``StartFunction`` and wait until it is DONE.

    ``data(activation)`` returns the keyword arguments of the start function
    (``activation.process`` is the parent; the child's ``process.parent_task``
    is the waiting task).
    """

    task_type = "SUBPROCESS"
    activation_class = SubprocessActivation
    #: the task waits STARTED; its children's ending resumes it
    waiting_statuses = (TaskStatus.STARTED,)
    starts_subprocesses = True
    sequential = False

    def __init__(self, start_node, data=None):
        super().__init__()
        self._start_ref = start_node
        self.start_node = None
        self.data = data

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        ref = self._start_ref
        node = self._resolve_ref(ref, flow_class) if isinstance(ref, (NodeRef, str)) else ref
        if node is None:
            return  # a dangling this.x: reported by the checks (E001)
        if not isinstance(node, StartFunction):
            self.start_problem = f"starts {node!r}, which is not a StartFunction node of a flow."  # check E011
            return
        self.start_node = node
        node.flow_class._meta.started_by.append(self)

    #: what is wrong with the start node given (reported by the check viewflow.E011), or ""
    start_problem = ""

    def items_of(self, activation):
        return [None]

    def child_kwargs(self, activation, item):
        return dict(self.data(activation)) if self.data is not None else {}

    def activate(self, step, previous, token, task=None):
        now = timezone.now()
        task = self.make_task(step, previous, token, task, status=TaskStatus.STARTED, started=now)
        activation = self.activation_class(step, task)
        if self.start_node is None:  # declared wrongly (check E011 says how): the task shows why
            activation.fail(
                FlowRuntimeError(_("%(node)s names no StartFunction node to start.") % {"node": self.name})
            )
            return activation
        activation.run()
        return activation

    def on_resume(self, activation, /, statuses=None):
        """Resumed (by its last child, or by ``node.resume(task)``): only if every child is DONE."""
        activation.check_done(statuses)

    def child_changed(self, step, task, news=None):
        """A child of ``task`` changed status; ``step`` holds this process's lock.

        ``news`` maps the child's key (as ``task.data`` stores it) to its new status.
        """
        self.activation_class(step, task).look(news)


class NSubprocess(Subprocess):
    """Start one process of another flow per item and wait until all are DONE.

    ``items(activation)`` gives the items; each child's start function gets
    ``item=<item>``, or the keyword arguments ``data(activation, item)``
    returns. ``sequential=True`` starts the next child once the one before is
    DONE (``items`` is called again then, and must give the same items).
    """

    task_type = "NSUBPROCESS"

    def __init__(self, start_node, items, data=None, sequential=False):
        super().__init__(start_node, data=data)
        self.items = items
        self.sequential = sequential

    def items_of(self, activation):
        return list(self.items(activation))

    def child_kwargs(self, activation, item):
        return dict(self.data(activation, item)) if self.data is not None else {"item": item}

