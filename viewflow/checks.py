"""System checks for broken flow definitions (``manage.py check``).

| id | problem |
| --- | --- |
| viewflow.E001 | a reference (``this.x``, a name) to a node that does not exist |
| viewflow.E002 | a node that no start node can reach |
| viewflow.E003 | a flow without an End node |
| viewflow.E004 | an If without both branches |
| viewflow.E005 | a Join that no Split leads to, or that a path around every Split reaches |
| viewflow.E006 | a view node that nobody may execute (no Permission, no Assign) |
| viewflow.E007 | a flow without a start node |
| viewflow.E008 | a node that leads nowhere (only End may) |
| viewflow.E009 | a ``task_cls`` that is neither ``Task`` nor a proxy of it |
| viewflow.E010 | a flow or node whose stored name is too long for its column |
| viewflow.E011 | a Subprocess whose start node is not a ``StartFunction`` of a flow of the project |
| viewflow.E012 | a flow that starts itself again through Subprocess nodes on every path (no end condition) |
| viewflow.E013 | a StartTimer whose schedule is wrong (a cron string that does not parse, no or two schedules) |
| viewflow.E014 | a Timer, ``.Deadline`` or ``.Due`` whose delay is not a timedelta, an aware datetime or a callable |
| viewflow.E015 | a policy whose ``visibility`` is neither ``"flow"``, ``"participants"`` nor a callable |
| viewflow.W001 | a node's ``.Permission("app.codename")`` that no model and no flow declares |
| viewflow.W002 | a node's ``.Permission(..., obj=...)`` where ModelBackend is the only backend |

``manage.py check`` looks at :func:`viewflow.base.all_flows`: the flows of
installed apps and those registered with the site. Call :func:`check_flow`
to check any other flow class (a test does, for flows it builds on purpose).
"""

from __future__ import annotations

from django.core import checks

from .permissions import _model_backend_only
from .registry import all_flows

__all__ = ["check_flows", "check_flow"]


@checks.register("viewflow")
def check_flows(app_configs=None, **kwargs):
    errors = []
    for flow_class in all_flows():
        if app_configs is not None and flow_class._meta.app_label not in {c.label for c in app_configs}:
            continue
        errors.extend(check_flow(flow_class))
    return errors


def _error(flow_class, node_name, msg, hint, code):
    where = f"{flow_class.__qualname__}.{node_name}" if node_name else flow_class.__qualname__
    return checks.Error(f"{where}: {msg}", hint=hint, obj=flow_class, id=f"viewflow.{code}")


def _check_visibility(flow_class):
    from .policy import VISIBLE_TO_FLOW, VISIBLE_TO_PARTICIPANTS

    policy_class = flow_class.policy_class
    rule = flow_class.policy.visibility_rule()
    if rule in (VISIBLE_TO_FLOW, VISIBLE_TO_PARTICIPANTS) or callable(rule):
        return []
    return [
        _error(
            flow_class,
            None,
            f"{policy_class.__qualname__}.visibility is {rule!r}, which names no rule.",
            'Set it to "flow" (everyone who may see the flow sees every process), "participants", '
            "or a callable(user) returning a Q() of the processes the user sees.",
            "E015",
        )
    ]


def check_flow(flow_class):
    """Return the check messages for one flow class."""
    from .flow.base import HumanTask
    from .flow.end import End
    from .flow.gateway import If, Join
    from .flow.start import BaseStart
    from .models import Task

    meta = flow_class._meta
    nodes = meta.nodes
    errors = [
        _error(flow_class, name, msg, "Declare that node, or fix the name in .Next()/the branch.", "E001")
        for name, msg in meta.errors
    ]
    starts = [node for node in nodes.values() if isinstance(node, BaseStart)]
    if not starts:
        errors.append(
            _error(flow_class, None, "has no start node.", "Add flow.Start(...) or flow.StartFunction(...).", "E007")
        )
    if not any(isinstance(node, End) for node in nodes.values()):
        errors.append(
            _error(flow_class, None, "has no End node.", "Add end = flow.End() and lead the last nodes to it.", "E003")
        )
    errors.extend(_check_visibility(flow_class))

    side_paths = _reminder_paths(nodes)
    reachable, queue = set(), list(starts)
    while queue:
        node = queue.pop()
        if node.name in reachable:
            continue
        reachable.add(node.name)
        queue.extend(edge.dst for edge in node.outgoing())
    for name, node in nodes.items():
        if name not in reachable:
            errors.append(
                _error(
                    flow_class,
                    name,
                    "cannot be reached from any start node.",
                    "Lead a .Next() to it, or remove it.",
                    "E002",
                )
            )
        if isinstance(node, If) and (node._on_true is None or node._on_false is None):
            errors.append(
                _error(flow_class, name, "If needs both branches.", "Call .OnTrue(node) and .OnFalse(node).", "E004")
            )
        elif (
            not isinstance(node, End)
            and not node.outgoing()
            and not (isinstance(node, If) or name in dict(meta.errors) or name in side_paths)
        ):
            errors.append(
                _error(flow_class, name, "leads nowhere.", "Call .Next(node) on it (only End may end a path).", "E008")
            )
        if isinstance(node, HumanTask) and not node.owner_permission and node._assign is None:
            errors.append(
                _error(
                    flow_class,
                    name,
                    "nobody may execute this task.",
                    "Call .Permission('app.codename') or .Permission(auto_create=True), or .Assign(...).",
                    "E006",
                )
            )

    split_targets = set()
    for node in nodes.values():
        if node.opens_branches:
            join = node.join
            if join is not None:
                split_targets.add(join.name)
    for name, node in nodes.items():
        if isinstance(node, Join) and name not in split_targets:
            errors.append(
                _error(
                    flow_class,
                    name,
                    "no Split leads to this Join.",
                    "Put a flow.Split() before the branches it joins.",
                    "E005",
                )
            )
    task_cls = flow_class.task_cls
    if not (isinstance(task_cls, type) and issubclass(task_cls, Task) and (task_cls is Task or task_cls._meta.proxy)):
        errors.append(
            _error(
                flow_class,
                None,
                f"task_cls {task_cls!r} is not viewflow.models.Task or a proxy of it.",
                "Tasks live in Task's table: subclass it with Meta.proxy = True to add methods.",
                "E009",
            )
        )
    errors.extend(_names_too_long(flow_class))
    errors.extend(_subprocess_errors(flow_class))
    errors.extend(_timer_errors(flow_class))
    known = _declared_permissions()
    for name, node in nodes.items():
        permission = getattr(node, "_permission", None)
        if isinstance(permission, str) and known is not None and permission not in known:
            errors.append(
                checks.Warning(
                    f"{flow_class.__qualname__}.{name}: no model or flow declares the permission {permission!r}.",
                    hint="Fix the name, declare it in a model's Meta.permissions, "
                    "or use .Permission(auto_create=True). If a data migration creates it, silence viewflow.W001.",
                    obj=flow_class,
                    id="viewflow.W001",
                )
            )
    if _model_backend_only():
        for name, node in nodes.items():
            if getattr(node, "_permission_obj", None) is not None:
                errors.append(
                    checks.Warning(
                        f"{flow_class.__qualname__}.{name}: .Permission(obj=...) asks about each process, but "
                        "ModelBackend, the only authentication backend, grants no object permission.",
                        hint="Add an object-permission backend to AUTHENTICATION_BACKENDS, or drop obj=: as it is, "
                        "only superusers may claim these tasks (managers may still assign them).",
                        obj=flow_class,
                        id="viewflow.W002",
                    )
                )
    for name, via in _joins_outside_splits(starts, len(nodes)).items():
        if name in split_targets:
            errors.append(
                _error(
                    flow_class,
                    name,
                    f"can be reached from {via!r} on a path that passes no Split.",
                    "Lead every path into a Join through the Split it closes.",
                    "E005",
                )
            )
    return errors


def _subprocess_errors(flow_class):
    """E011 for a Subprocess that cannot start its children, E012 for a flow that starts itself forever."""
    found = []
    project = None
    for name, node in flow_class._meta.nodes.items():
        if not getattr(node, "starts_subprocesses", False):
            continue
        if node.start_problem:
            found.append(_error(flow_class, name, node.start_problem, _SUBPROCESS_HINT, "E011"))
            continue
        if node.start_node is None:
            continue  # a dangling this.x: E001 says so
        project = project if project is not None else all_flows()
        target = node.start_node.flow_class
        if target not in project and target is not flow_class:
            found.append(
                _error(
                    flow_class,
                    name,
                    f"starts {target.__qualname__}, a flow of no installed app and not registered with the site.",
                    "Declare the flow in an installed app's flows.py, or register it with viewsite.register().",
                    "E011",
                )
            )
    cycle = _starts_itself(flow_class)
    if cycle:
        found.append(
            _error(
                flow_class,
                None,
                "starts itself again through subprocesses on every path: " + " -> ".join(cycle) + ".",
                "Put the Subprocess behind an If or a Switch that ends the recursion, or use an NSubprocess "
                "whose items run out.",
                "E012",
            )
        )
    return found


_SUBPROCESS_HINT = "Give OtherFlow.start_node, where start_node = flow.StartFunction(...) in OtherFlow."


def _sure_subprocesses(flow_class):
    """The Subprocess nodes every run of ``flow_class`` reaches: on the main path, before any choice.

    A choice (If, Switch, a Split branch with a condition) or an NSubprocess
    (its items may run out) is an end condition; a loop back is not.
    """
    from .flow.start import BaseStart

    sure, queue = [], [node for node in flow_class._meta.nodes.values() if isinstance(node, BaseStart)]
    seen = set()
    while queue:
        node = queue.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        if getattr(node, "starts_subprocesses", False) and node.task_type == "SUBPROCESS" and node.start_node:
            sure.append(node)
        edges = node.outgoing()
        if node.task_type in ("IF", "SWITCH") or (len(edges) > 1 and not node.opens_branches):
            continue
        queue.extend(edge.dst for edge in edges if not (node.opens_branches and edge.label))
    return sure


def _starts_itself(flow_class):
    """``["AFlow.sub", "BFlow.sub", ...]``: a chain of sure subprocesses leading back to ``flow_class``."""
    stack = [(flow_class, [])]
    visited = set()
    while stack:
        current, path = stack.pop()
        for node in _sure_subprocesses(current):
            target = node.start_node.flow_class
            chain = [*path, f"{current.__qualname__}.{node.name}"]
            if target is flow_class:
                return chain
            if target not in visited:
                visited.add(target)
                stack.append((target, chain))
    return []


def _names_too_long(flow_class):
    """E010 for a flow path, node path or auto-created permission codename its column cannot hold."""
    from .fields import flow_path, node_path
    from .models import Process, Task

    limits = Process._meta.get_field("flow_class").max_length, Task._meta.get_field("flow_task").max_length
    found = []
    if len(flow_path(flow_class)) > limits[0]:
        found.append((None, f"its path is longer than {limits[0]} characters."))
    codename_limit = 100  # django.contrib.auth's Permission.codename
    for name, node in flow_class._meta.nodes.items():
        if len(node_path(node)) > limits[1]:
            found.append((name, f"its path is longer than {limits[1]} characters."))
        if getattr(node, "_auto_create_permission", False) and not node._permission:
            if len(node.permission_codename) > codename_limit:
                found.append((name, f"its permission codename is longer than {codename_limit} characters."))
    return [
        _error(flow_class, name, msg, "Shorten the name of the flow class, its module or the node.", "E010")
        for name, msg in found
    ]


def _declared_permissions():
    """Every ``app.codename`` that models (defaults and ``Meta.permissions``) and flows declare.

    None when ``django.contrib.auth`` is not installed: permissions are then
    another backend's business.
    """
    from django.apps import apps

    from .permissions import auto_create_permissions
    if not apps.is_installed("django.contrib.auth"):
        return None
    known = set()
    for model in apps.get_models():
        opts = model._meta
        known.update(f"{opts.app_label}.{action}_{opts.model_name}" for action in opts.default_permissions)
        known.update(f"{opts.app_label}.{codename}" for codename, _name in opts.permissions)
    for flow_class in all_flows():
        known.update(
            f"{model._meta.app_label}.{codename}" for model, codename, _name in auto_create_permissions(flow_class)
        )
    return known


def _joins_outside_splits(starts, node_count):
    """``{join name: node before it}`` for the Joins some path reaches with no Split open.

    Walks the paths keeping how many splits are open: a split-like node opens
    one, a Join closes one. Loops that open splits without closing them are cut
    off once more are open than the flow has nodes.
    """
    from .flow.gateway import Join

    found, seen = {}, set()
    queue = [(node, 0, None) for node in starts]
    while queue:
        node, depth, before = queue.pop()
        if (node.name, depth) in seen or depth > node_count:
            continue
        seen.add((node.name, depth))
        if isinstance(node, Join):
            if depth == 0:
                found.setdefault(node.name, before)
                continue
            depth -= 1
        elif node.opens_branches:
            depth += 1
        queue.extend((edge.dst, depth, node.name) for edge in node.outgoing())
    return found


def _reminder_paths(nodes):
    """Names of the nodes a non-interrupting deadline leads to: a reminder's path may end where it likes.

    Its last node leads nowhere on purpose (the task it reminds of is still the
    process's main path); every other path must reach an End.
    """
    queue = [
        deadline._next
        for node in nodes.values()
        for deadline in getattr(node, "deadlines", ())
        if not deadline.interrupting and deadline._next is not None
    ]
    found = set()
    while queue:
        node = queue.pop()
        if node.name not in found:
            found.add(node.name)
            queue.extend(edge.dst for edge in node.outgoing())
    return found


def _timer_errors(flow_class):
    """E013 for a StartTimer's schedule, E014 for a delay of the wrong kind."""
    import datetime

    from .flow.timer import StartTimer, TimerTask

    errors = []
    for name, node in flow_class._meta.nodes.items():
        if isinstance(node, StartTimer):
            errors.extend(
                _error(
                    flow_class,
                    name,
                    f"StartTimer {problem}.",
                    'Give every=timedelta(...) or a cron string such as cron="0 9 * * MON".',
                    "E013",
                )
                for problem in node.schedule_errors()
            )
        delays = []
        if isinstance(node, TimerTask):
            watched = getattr(node, "watched", None)
            delays.append(("Deadline" if watched else "Timer", (watched or node).name, node.delay))
        if getattr(node, "_due", None) is not None:
            delays.append(("Due", name, node._due))
        for kind, where, delay in delays:
            if callable(delay) or isinstance(delay, datetime.timedelta):
                continue
            if isinstance(delay, datetime.datetime) and delay.tzinfo is not None:
                continue
            errors.append(
                _error(
                    flow_class,
                    where,
                    f"{kind}({delay!r}): the delay is not a timedelta, an aware datetime or a callable of the process.",
                    "Pass datetime.timedelta(...), an aware datetime, or a function of the process returning one.",
                    "E014",
                )
            )
    return errors
