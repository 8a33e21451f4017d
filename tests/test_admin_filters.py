"""Bad values in the admin's filters get the admin's own answer, never a 500.

A NUL byte is the sharpest case: PostgreSQL refuses it in text (``DataError``),
so ``?flow=%00`` once answered 500 there. A value that is not one of a
filter's choices (or that no column holds) sends the admin back to its list
with ``?e=1``, as Django's admin does for any lookup it cannot apply.
"""

import pytest

from tests.testapp.flows import CodeStartFlow
from viewflow.fields import flow_path, node_path

pytestmark = pytest.mark.django_db

NUL = "\x00"


@pytest.fixture
def admin_client(user_factory, client_for):
    CodeStartFlow.start.run(text="a")
    return client_for(user_factory("boss", superuser=True))


@pytest.mark.parametrize(
    "model, params",
    [
        ("process", {"flow": NUL}),
        ("process", {"flow": "os.system"}),
        ("process", {"status__exact": NUL}),
        ("process", {"flow_class": NUL}),
        ("process", {"flow_class__startswith": f"x{NUL}"}),
        ("task", {"flow": NUL}),
        ("task", {"node": NUL}),
        ("task", {"node": "helloworld.flows.HelloWorldFlow.nope"}),
        ("task", {"type": NUL}),
        ("task", {"type": "NOPE"}),
        ("task", {"status__exact": NUL}),
        ("task", {"flow_task": NUL}),
        ("task", {"external_task_id": NUL}),
        ("task", {"comments__contains": NUL}),
        ("task", {"flow": flow_path(CodeStartFlow), "node": NUL}),
        ("schedule", {"flow_task": NUL}),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else value,
)
def test_a_bad_filter_value_sends_the_admin_back_to_its_list(admin_client, model, params):
    response = admin_client.get(f"/admin/viewflow/{model}/", params)
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_a_nul_anywhere_in_the_query_is_refused_on_the_second_try_too(admin_client):
    response = admin_client.get("/admin/viewflow/task/", {"node": NUL, "e": "1"})
    assert response.status_code == 200  # Django's "database error" page, not a crash
    assert "Database error" in response.content.decode()


def test_good_values_still_filter(admin_client):
    task = CodeStartFlow.start.run(text="b").task_set.get(flow_task=CodeStartFlow.approve)
    for params in (
        {"flow": flow_path(CodeStartFlow)},
        {"node": node_path(CodeStartFlow.approve)},
        {"flow": flow_path(CodeStartFlow), "node": node_path(CodeStartFlow.approve)},
        {"type": task.flow_task_type},
        {"status__exact": "NEW"},
    ):
        response = admin_client.get("/admin/viewflow/task/", params)
        assert response.status_code == 200, params
        assert task.pk in {t.pk for t in response.context["cl"].result_list}, params
