"""Users for tests, with the permissions of the nodes they work on."""

from __future__ import annotations

from django.contrib.auth import get_user_model

__all__ = ["make_user", "permissions_of"]


def permissions_of(*grants):
    """The ``"app.codename"`` permissions that ``grants`` stand for.

    A grant is a permission string, a node (its ``.Permission(...)``), or a
    flow class (every node's permission, and the view permission of its process model).
    """
    from ..base import Flow
    from ..flow.base import Node

    permissions = []
    for grant in grants:
        if isinstance(grant, type) and issubclass(grant, Flow):
            model = grant.process_cls._meta
            permissions.append(f"{model.app_label}.view_{model.model_name}")
            permissions.extend(
                node.owner_permission for node in grant._meta.nodes.values() if getattr(node, "owner_permission", "")
            )
        elif isinstance(grant, Node):
            permission = getattr(grant, "owner_permission", "")
            if not permission:
                raise ValueError(f"{grant.name} has no .Permission(...): there is nothing to grant for it.")
            permissions.append(permission)
        else:
            permissions.append(str(grant))
    return list(dict.fromkeys(permissions))


def make_user(username, *grants, superuser=False, password=None, **fields):
    """Create a user (password: the username) holding the permissions of ``grants`` (see :func:`permissions_of`).

    ``make_user("approver", HelloWorldFlow.approve)``; returns the user read
    again, so its permission cache is fresh.
    """
    from django.contrib.auth.models import Permission

    model = get_user_model()
    user = model._default_manager.create_user(
        **{model.USERNAME_FIELD: username}, password=password or username, **fields
    )
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    permissions = permissions_of(*grants)
    if permissions and not hasattr(user, "user_permissions"):
        raise TypeError(f"{model.__name__} has no user_permissions: grant {', '.join(permissions)} your own way.")
    for permission in permissions:
        app_label, codename = permission.split(".", 1)
        try:
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        except Permission.DoesNotExist:
            raise ValueError(f"No permission {permission!r}: was the database migrated?") from None
    return model._default_manager.get(pk=user.pk)
