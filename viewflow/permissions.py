"""Permissions: those nodes declare (``.Permission(auto_create=True)``, created on migrate), how a
user's are read, and object permissions (``.Permission(..., obj=...)``) as the queue asks them."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth import get_backends, get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import Q, Value
from django.utils.module_loading import import_string

from . import statements
from .registry import all_flows

__all__ = [
    "auto_create_permissions",
    "create_flow_permissions",
    "has_perm",
    "all_permissions",
    "load_permissions",
    "task_permissions",
    "can_see_error",
    "users_with_permission",
    "assignable_users",
    "ProcessObject",
    "objects_with_perm",
]


def auto_create_permissions(flow_class):
    """``(model, codename, name)`` for every node of ``flow_class`` that asks for its own permission."""
    for node in flow_class._meta.nodes.values():
        if getattr(node, "_auto_create_permission", False) and not getattr(node, "_permission", None):
            yield flow_class.process_cls, node.permission_codename, node.permission_name


def create_flow_permissions(sender=None, using=DEFAULT_DB_ALIAS, apps=None, **kwargs):
    """post_migrate receiver: create the auto-created permissions of every registered flow.

    The tables are written through the models of the migrated state (``apps``), as
    Django's own permissions are: after ``migrate viewflow 0001`` on a new database
    the content type table may not have its present columns yet.
    """
    if apps is not None:
        try:
            ContentType, Permission = (
                apps.get_model("contenttypes", "ContentType"),
                apps.get_model("auth", "Permission"),
            )
        except LookupError:  # auth or contenttypes not migrated on this database
            return
    else:
        from django.contrib.auth.models import Permission
        from django.contrib.contenttypes.models import ContentType
    if not router.allow_migrate_model(using, Permission):
        return
    wanted = {}
    for flow_class in all_flows():
        for model, codename, name in auto_create_permissions(flow_class):
            wanted[(model, codename)] = name
    if not wanted:
        return
    content_types = ContentType.objects.db_manager(using).get_for_models(
        *{model for model, _ in wanted}, for_concrete_models=False
    )
    existing = set(
        Permission.objects.using(using)
        .filter(content_type__in=content_types.values())
        .values_list("content_type_id", "codename")
    )
    Permission.objects.using(using).bulk_create(
        [
            Permission(content_type=content_types[model], codename=codename, name=name[:255])
            for (model, codename), name in wanted.items()
            if (content_types[model].pk, codename) not in existing
        ]
    )


def has_perm(user, permission, obj=None):
    """``user.has_perm(permission, obj)``, with the user's permissions read in one statement.

    With ModelBackend alone, the answer for a model permission is looked up in
    the permissions :func:`load_permissions` read, as ModelBackend would.
    """
    load_permissions(user)
    if obj is None and _model_backend_only():
        known = getattr(user, "_perm_cache", None)
        if known is not None and user.is_active:
            return user.is_superuser or permission in known
    return user.has_perm(permission, obj)


def all_permissions(user):
    """``user.get_all_permissions()``, with the user's permissions read in one statement."""
    load_permissions(user)
    return user.get_all_permissions()


def load_permissions(user):
    """Read ``user``'s own and group permissions in one statement, where Django's ModelBackend keeps them.

    Nearly every page asks ``user.has_perm()``; Django's ModelBackend answers the
    first question of a request with two statements (the user's permissions, then
    their groups'). When ModelBackend is the only backend, this reads both with one
    UNION and fills the per-request caches ModelBackend reads (``_user_perm_cache``,
    ``_group_perm_cache``, ``_perm_cache``), so its answers are unchanged and cost
    nothing more. With any other backend, or a user model without Django's
    permission relations, it does nothing and ``has_perm`` works as usual.
    """
    if (
        hasattr(user, "_perm_cache")
        or not getattr(user, "is_active", False)
        or user.is_anonymous
        or user.is_superuser  # has_perm() says yes without reading anything
        or not (hasattr(user, "user_permissions") and hasattr(user, "groups"))
        or not _model_backend_only()
    ):
        return
    rows = statements.permission_rows(user, router.db_for_read(Permission))
    if rows is None:  # another database: the same UNION through the ORM
        columns = ("content_type__app_label", "codename", "own")
        own = user.user_permissions.annotate(own=Value(True)).values_list(*columns).order_by()
        grouped = (
            Permission.objects.filter(group__in=user.groups.all()).annotate(own=Value(False)).values_list(*columns)
        )
        rows = own.union(grouped.order_by(), all=True).order_by()  # no Meta.ordering: its columns are not selected
    user_perms, group_perms = set(), set()
    for app_label, codename, is_own in rows:
        (user_perms if is_own else group_perms).add(f"{app_label}.{codename}")
    user._user_perm_cache = user_perms
    user._group_perm_cache = group_perms
    user._perm_cache = user_perms | group_perms


def _model_backend_only():
    return _only_model_backend(tuple(settings.AUTHENTICATION_BACKENDS))


@functools.cache
def _only_model_backend(paths):
    return bool(paths) and all(type(load_backend(path)) is ModelBackend for path in paths)


def task_permissions(user, task):
    """What ``user`` may do with ``task``: a set of action names used by views and templates.

    ``execute`` (open its view), ``assign``, ``unassign``, ``reassign``, ``cancel``,
    ``retry``, ``undo``, ``detail``. The flow's policy answers
    (:meth:`viewflow.policy.FlowPolicy.task_actions`).
    """
    node = task.flow_task
    if node is None:
        return set()
    return node.flow_class.policy.task_actions(user, task)


def can_see_error(user, task):
    """May ``user`` read the error (the traceback) stored on ``task``? The flow's policy answers.

    By default only the flow's managers may (:meth:`~viewflow.policy.FlowPolicy.can_see_error`):
    a traceback can carry what the failing code held (a URL with a password, a
    customer's data). Everyone else who may see the task learns that it failed,
    not why. A task whose node is gone is its managers' too (anyone with
    ``viewflow.change_task``).
    """
    if not user.is_authenticated:
        return False
    node = task.flow_task
    if node is None:
        return user.is_superuser or has_perm(user, "viewflow.change_task")
    return node.flow_class.policy.can_see_error(user, task)


def users_with_permission(permission, users=None):
    """Active users who hold ``"app.codename"`` directly, through a group, or as superusers."""
    if users is None:
        users = get_user_model()._default_manager.filter(is_active=True)
    app_label, _dot, codename = permission.partition(".")
    return users.filter(
        Q(is_superuser=True)
        | Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
        | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
    ).distinct()


def assignable_users(tasks):
    """Active users ``tasks`` can be given to, by username: holders of their permission, or anyone.

    When every task asks for the same permission, only its holders (directly,
    through a group, or as superusers); when they ask for none or for several,
    every active user.
    """
    User = get_user_model()
    users = User._default_manager.filter(is_active=True)
    permissions = {task.owner_permission for task in tasks}
    if len(permissions) == 1 and "" not in permissions:
        users = users_with_permission(permissions.pop(), users)
    return users.order_by(User.USERNAME_FIELD)


class ProcessObject:
    """``.Permission(perm, obj=ProcessObject("order"))``: check ``perm`` on the object a path of the process leads to.

    Called with a process it returns that object (``process.order``; a path
    may cross relations, ``"order__customer"``; no path: the process itself),
    as any ``obj=`` callable does when a user claims a task. Unlike a plain
    callable, it can also be followed backwards in SQL, from the objects a user
    holds the permission on to their processes: so the queue lists such a task
    only to the users whose object check would let them claim it (when the
    authentication backends can list objects: :func:`objects_with_perm`).
    """

    def __init__(self, path=""):
        self.path = path

    def __repr__(self):
        return f"ProcessObject({self.path!r})"

    def __call__(self, process):
        obj = process
        for name in self.names:
            obj = getattr(obj, name)
        return obj

    @property
    def names(self):
        return self.path.split("__") if self.path else []

    def model(self, process_cls):
        """The model of the object, reached from ``process_cls`` through the path's relations."""
        model = process_cls
        for name in self.names:
            model = model._meta.get_field(name).related_model
        return model

    def processes(self, process_cls, objects):
        """The keys of the processes whose object is one of ``objects`` (a queryset), as a subquery."""
        lookup = f"{self.path}__in" if self.path else "pk__in"
        return process_cls._base_manager.filter(**{lookup: objects.values("pk")}).values("pk")


#: backends that cannot answer ``objects_with_perm`` themselves, and the function that answers for them
OBJECT_PERMISSION_ADAPTERS = {
    "guardian.backends.ObjectPermissionBackend": "viewflow.contrib.guardian.objects_with_perm",
}


def objects_with_perm(user, permission, model):
    """The objects of ``model`` on which ``user`` holds ``permission`` as an object permission; None if unknown.

    Each authentication backend is asked; Django's ``ModelBackend`` grants no
    object permission and is skipped. A backend answers with a method
    ``objects_with_perm(user, permission, queryset)`` (the queryset narrowed to
    those objects); django-guardian's ``ObjectPermissionBackend`` is answered by
    :mod:`viewflow.contrib.guardian` (see :data:`OBJECT_PERMISSION_ADAPTERS`).
    When any other backend cannot answer, the result is None: nobody can tell
    which objects it would grant.
    """
    querysets = []
    for backend in get_backends():
        if type(backend) is ModelBackend:
            continue
        finder = getattr(backend, "objects_with_perm", None)
        if finder is None:
            adapter = OBJECT_PERMISSION_ADAPTERS.get(f"{type(backend).__module__}.{type(backend).__qualname__}")
            finder = import_string(adapter) if adapter else None
        if finder is None:
            return None
        querysets.append(finder(user, permission, model._base_manager.all()))
    if not querysets:
        return model._base_manager.none()
    objects = querysets[0]
    for other in querysets[1:]:
        objects = model._base_manager.filter(Q(pk__in=objects.values("pk")) | Q(pk__in=other.values("pk")))
    return objects


def object_queue_filter(user, nodes):
    """``(paths, Q)`` for the queue: the nodes among ``nodes`` whose object rule SQL can follow, and their tasks
    ``user`` may claim; None when the backends cannot list objects (the queue then lists by permission alone).
    """
    from .fields import node_path

    narrowed = [node for node in nodes if isinstance(getattr(node, "_permission_obj", None), ProcessObject)]
    if not narrowed:
        return None
    condition = Q(pk__in=[])
    for node in narrowed:
        rule, process_cls = node._permission_obj, node.flow_class.process_cls
        objects = objects_with_perm(user, node.owner_permission, rule.model(process_cls))
        if objects is None:
            return None
        condition |= Q(flow_task=node_path(node), process_id__in=rule.processes(process_cls, objects))
    return [node_path(node) for node in narrowed], condition
