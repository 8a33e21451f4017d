"""An object-permission backend for ``.Permission(..., obj=callable)`` tests."""

from django.contrib.auth.backends import BaseBackend


class SampleObjectBackend(BaseBackend):
    """Grant ``testapp.review_sample`` on a sample process whose ``text`` is the user's name."""

    def has_perm(self, user_obj, perm, obj=None):
        return (
            obj is not None
            and user_obj.is_active
            and perm == "testapp.review_sample"
            and getattr(obj, "text", None) == user_obj.get_username()
        )

    def objects_with_perm(self, user_obj, perm, queryset):
        """The processes it grants ``perm`` on, as a queryset: the queue asks this (``objects_with_perm``)."""
        if not user_obj.is_active or perm != "testapp.review_sample" or not hasattr(queryset.model, "text"):
            return queryset.none()
        return queryset.filter(text=user_obj.get_username())
