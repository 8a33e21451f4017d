"""django-guardian's object permissions, as the queue asks them (:func:`viewflow.permissions.objects_with_perm`).

Nothing to configure: with ``guardian`` installed and
``guardian.backends.ObjectPermissionBackend`` in ``AUTHENTICATION_BACKENDS``,
the queue lists a task of a node with ``.Permission(perm, obj=ProcessObject(...))``
only to the users who hold ``perm`` on that task's object, directly or through
a group: the same answer ``user.has_perm(perm, obj)`` gives when they claim it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

__all__ = ["objects_with_perm"]


def objects_with_perm(user, permission, queryset):
    """``queryset`` narrowed to the objects on which ``user`` holds ``permission`` as an object permission.

    Global permissions are left out, as guardian's backend leaves them out of
    ``has_perm(perm, obj)``: Django's ``ModelBackend`` answers for those, and it
    grants none on an object. The answer is one subquery of guardian's tables
    per kind of holder (the user, their groups), joined to the permission and
    content type by their names: building it reads nothing (guardian's own
    ``get_objects_for_user`` looks the content types up first), and the
    object's key is matched through its index.
    """
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    model = queryset.model
    app_label, _dot, codename = permission.partition(".")
    granted = Q(permission__codename=codename, permission__content_type__app_label=app_label)
    condition = Q(pk__in=[])
    holders = (
        (get_user_obj_perms_model(model), Q(user=user)),
        (get_group_obj_perms_model(model), Q(group__in=user.groups.all())),
    )
    for perms_model, holder in holders:
        rows = perms_model._default_manager.filter(holder, granted)
        if perms_model.objects.is_generic():
            meta = model._meta.concrete_model._meta
            rows = rows.filter(content_type__app_label=meta.app_label, content_type__model=meta.model_name)
            rows = rows.annotate(vf_object=Cast("object_pk", _key_field(model))).values("vf_object")
        else:  # a direct model: a real foreign key to the object
            rows = rows.values("content_object")
        condition |= Q(pk__in=rows)
    return queryset.filter(condition)


def _key_field(model):
    """A field of the type of ``model``'s key, to cast guardian's text ``object_pk`` to (so the key's index serves)."""
    field = model._meta.pk
    while field.is_relation:  # a child model's key is its parent link
        field = field.target_field
    if isinstance(field, (models.AutoField, models.BigAutoField, models.SmallAutoField, models.IntegerField)):
        return models.BigIntegerField()
    if isinstance(field, models.UUIDField):
        return models.UUIDField()
    return models.CharField(max_length=255)
