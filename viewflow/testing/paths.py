"""The path a process took, read from its tasks' tokens.

A process's tasks carry the token of the branch they ran on: the main line's
(``start``), a split branch's (``start/9f2c.0``), a Join's the group's
(``start/9f2c``). So the path is the main line's node names in the order their
tasks were created, where a split's branches appear as one *branch group* —
a list of branches, each a tuple of node names (which may hold groups of its
own) — followed by the Join that closed them::

    ["start", "prepare", [("package",), ("reserve_stock",)], "prepared", "end"]

Branches in a group are sorted, so the same run gives the same path whatever
order its branches ran in.
"""

from __future__ import annotations

import heapq

__all__ = ["build_path", "normalise_path", "flow_order"]


class _Group:
    def __init__(self, token):
        self.token = token
        self.branches = {}  # branch token -> [(name, token)], in the order found
        self.joins = []


def build_path(items):
    """The path of ``items``: ``(node name, token)`` of a process's tasks, oldest first."""
    items = list(items)
    if not items:
        return []
    return _level(items, items[0][1])


def _level(items, token):
    path, groups = [], {}
    prefix = f"{token}/"
    for name, task_token in items:
        if task_token == token:
            path.append(name)
        elif task_token.startswith(prefix):
            group_token = prefix + task_token[len(prefix):].split("/")[0].split(".")[0]
            group = groups.get(group_token)
            if group is None:
                group = groups[group_token] = _Group(group_token)
                path.append(group)
            if task_token == group_token:
                group.joins.append(name)
            else:
                branch = f"{group_token}.{task_token[len(group_token) + 1:].split('/')[0]}"
                group.branches.setdefault(branch, []).append((name, task_token))
    flat = []
    for element in path:
        if isinstance(element, _Group):
            branches = [tuple(_level(members, branch)) for branch, members in element.branches.items()]
            if branches:
                flat.append(sorted(branches, key=repr))
            flat.extend(element.joins)
        else:
            flat.append(element)
    return flat


def normalise_path(path):
    """``path`` as :func:`build_path` writes it, from the looser forms a test may use.

    In a path (and in a branch), whatever is not a name is a branch group: a
    list, tuple or set of branches. A branch is a tuple or list of names (and
    groups), or one name alone; an empty group (a split that started no
    branch) is left out. Node objects stand for their names.
    """
    normal = []
    for element in path:
        if isinstance(element, (list, tuple, set, frozenset)):
            if element:  # a split that started no branch leaves no group
                normal.append(sorted((_branch(branch) for branch in element), key=repr))
        else:
            normal.append(_name(element))
    return normal


def _branch(branch):
    if isinstance(branch, (tuple, list)):
        return tuple(normalise_path(branch))
    return (_name(branch),)


def _name(element):
    return element if isinstance(element, str) else getattr(element, "name", element)


def flow_order(keys, links):
    """``keys`` (task keys, in the order they were written) reordered so each task follows the tasks it came from.

    ``links`` are ``(task key, previous task key)`` pairs. A step writes a
    task early when its key is needed (a Subprocess's task, before the children
    that point at it), so key order alone can put a task before its predecessor;
    otherwise the written order is kept.
    """
    position = {key: n for n, key in enumerate(keys)}
    waiting_for = dict.fromkeys(keys, 0)
    followers = {key: [] for key in keys}
    for key, previous in links:
        if key in position and previous in position and key != previous:
            waiting_for[key] += 1
            followers[previous].append(key)
    ready = [position[key] for key in keys if not waiting_for[key]]
    heapq.heapify(ready)
    order = []
    while ready:
        key = keys[heapq.heappop(ready)]
        order.append(key)
        for follower in followers[key]:
            waiting_for[follower] -= 1
            if not waiting_for[follower]:
                heapq.heappush(ready, position[follower])
    if len(order) < len(keys):  # a loop in the links (cannot happen in a flow): keep the written order for the rest
        placed = set(order)
        order.extend(key for key in keys if key not in placed)
    return order
