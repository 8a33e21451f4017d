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
