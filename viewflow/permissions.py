"""Permissions that nodes declare with ``.Permission(auto_create=True)``, created on migrate."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth import get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import Q, Value

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
