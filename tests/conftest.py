"""Fixtures shared by the tests: users with permissions, logged-in clients."""

from pathlib import Path

import pytest

(Path(__file__).resolve().parent.parent / "test-output").mkdir(exist_ok=True)


@pytest.fixture
def user_factory(db, django_user_model):
    """``user_factory("bob", "helloworld.can_approve_helloworldprocess", superuser=False)``."""
    from django.contrib.auth.models import Permission

    def make(username, *permissions, superuser=False):
        user = django_user_model.objects.create_user(username, password=username)
        user.is_superuser = user.is_staff = superuser
        user.save()
        for perm in permissions:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return django_user_model.objects.get(pk=user.pk)  # fresh permission cache

    return make


@pytest.fixture
def client_for(client_factory=None):
    """``client_for(user)``: a test client logged in as ``user``."""
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
