"""viewflow.permissions.load_permissions: one statement, and the same answers as Django's ModelBackend."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from viewflow.permissions import all_permissions, has_perm, load_permissions

pytestmark = pytest.mark.django_db

MODEL_BACKEND_ONLY = override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"])


def _perm(name):
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def member(user_factory):
    """A user with one permission of their own and two through a group (one of them also their own)."""
    user = user_factory("member", "helloworld.can_start_helloworldprocess")
    group = Group.objects.create(name="approvers")
    group.permissions.add(
        _perm("helloworld.can_approve_helloworldprocess"), _perm("helloworld.can_start_helloworldprocess")
    )
    user.groups.add(group)
    return user


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)


@MODEL_BACKEND_ONLY
@pytest.mark.parametrize("direct", [True, False], ids=["direct-sql", "orm-union"])
def test_one_statement_gives_what_django_reads_in_two(member, direct, monkeypatch):
    if not direct:  # what a database other than SQLite and PostgreSQL runs
        monkeypatch.setattr("viewflow.statements.takes_direct_path", lambda using: False)
    expected = _fresh(member)
    with CaptureQueriesContext(connection) as django_reads:
        expected_all = expected.get_all_permissions()
    assert len(django_reads) == 2

    user = _fresh(member)
    with CaptureQueriesContext(connection) as ours:
        load_permissions(user)
        assert user.get_all_permissions() == expected_all
        assert (
            user.get_user_permissions() == expected.get_user_permissions() == {"helloworld.can_start_helloworldprocess"}
        )
        assert user.get_group_permissions() == expected.get_group_permissions()
        assert has_perm(user, "helloworld.can_approve_helloworldprocess")
        assert not has_perm(user, "viewflow.change_task")
        assert all_permissions(user) == expected_all
    assert len(ours) == 1


@MODEL_BACKEND_ONLY
def test_a_user_without_permissions_gets_empty_caches_in_one_statement(user_factory):
    user = _fresh(user_factory("nobody"))
    with CaptureQueriesContext(connection) as ours:
        assert not has_perm(user, "helloworld.can_start_helloworldprocess")
        assert all_permissions(user) == set()
    assert len(ours) == 1


@MODEL_BACKEND_ONLY
def test_users_modelbackend_answers_without_reading_are_left_to_it(member, user_factory):
    root = _fresh(user_factory("root", superuser=True))
    inactive = _fresh(member)
    inactive.is_active = False
    with CaptureQueriesContext(connection) as reads:
        assert has_perm(root, "anything.at_all")
        assert not has_perm(inactive, "helloworld.can_start_helloworldprocess")
    assert len(reads) == 0
    assert not hasattr(root, "_perm_cache") and not hasattr(inactive, "_perm_cache")


@override_settings(
    AUTHENTICATION_BACKENDS=[
        "django.contrib.auth.backends.ModelBackend",
        "tests.test_permissions_loading.GrantsTesting",
    ]
)
def test_another_backend_is_asked_as_usual(member):
    user = _fresh(member)
    load_permissions(user)
    assert not hasattr(user, "_perm_cache")  # not only ModelBackend: nothing is read ahead
    assert has_perm(user, "testing.granted") and has_perm(user, "helloworld.can_approve_helloworldprocess")


class GrantsTesting:
    """An authentication backend that grants one permission to everyone."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return perm == "testing.granted"
