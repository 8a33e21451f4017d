"""The REST API's OpenAPI schema: valid, with each node's real body, and true to the live server (schemathesis)."""

import json
import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_3(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert all(path.startswith("/api/") for path in schema["paths"])  # the API's own endpoints only


def test_each_start_and_view_node_has_its_own_body(schema):
    components = schema["components"]["schemas"]
    start = components["HelloworldStartRequest"]
    assert start["required"] == ["text"]
    assert (start["properties"]["text"]["type"], start["properties"]["text"]["maxLength"]) == ("string", 150)
    assert components["HelloworldApproveRequest"]["properties"]["approved"]["type"] == "boolean"
    body = schema["paths"]["/api/flows/helloworld/start/start/"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/HelloworldStartRequest"}
    complete = schema["paths"]["/api/flows/helloworld/processes/{process_pk}/approve/{task_pk}/complete/"]["post"]
    assert complete["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("HelloworldApproveRequest")
    assert set(complete["responses"]) >= {"200", "400", "401", "403", "404", "409"}
    # a formset is a list of its form's fields under its prefix, with the formset's limits
    order = components["OrderStartRequest"]
    assert order["properties"]["lines"]["minItems"] == 1
    assert order["properties"]["lines"]["items"]["$ref"].endswith("OrderStartLinesItem")
    assert set(components["OrderStartLinesItem"]["properties"]) == {"product", "quantity"}
    # a node that names a serializer is described by it
    assert set(components["StartText"]["properties"]) == {"text", "count"}
    # the process detail of a flow carries that flow's data
    data = components["HelloworldProcessData"]["properties"]
    assert set(data) == {"text", "approved"}


def test_swagger_ui_is_served_from_the_package(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/schema/" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from another host
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


#: the operations the fuzzing walks: the API's lists, every endpoint of Hello World, the order flow's formsets
FUZZED = re.compile(
    r"^/api/(flows/|processes/|tasks/\w+/|flows/helloworld/.*"
    r"|flows/order/(start/.*|processes/\{process_pk\}/(package/.*)?))$"
)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.django_db(transaction=True)
def test_the_live_api_keeps_to_its_schema(live_server, user_factory):
    """No 500, and every answer's status, content type and body as the schema says, for a logged-in token.

    schemathesis loads the schema from the live server and sends each operation
    a few generated requests over HTTP, as a superuser's token (so the
    operations get past the permission checks and into the forms and the engine).
    """
    # pytest-django hands the test's own SQLite connection to the server's request threads even for a
    # database file, and each thread closes it when its request ends, while the next one may use it: let
    # every request thread open its own connection to the file instead (the data here is committed)
    shared = dict(live_server.thread.connections_override)
    live_server.thread.connections_override.clear()
    try:
        _walk_the_api(live_server, user_factory)
    finally:
        live_server.thread.connections_override.update(shared)  # the server outlives this test


def _walk_the_api(live_server, user_factory):
    from rest_framework.test import APIClient

    user = user_factory("fuzzer", superuser=True)
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    for text in ("one", "two"):
        assert client.post("/api/flows/helloworld/start/start/", {"text": text}, format="json").status_code == 201
    order = {"customer": "Ada", "address": "1 Loop Rd", "lines": [{"product": "Widget", "quantity": 2}]}
    assert client.post("/api/flows/order/start/start/", order, format="json").status_code == 201
    real_keys = real_keys_by_path()
    loaded = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    headers = {"Authorization": f"Token {token.key}"}
    walked, answered = 0, set()
    for result in loaded.get_all_operations():
        operation = result.ok()
        if not FUZZED.match(operation.path):
            continue
        walked += 1
        strategies = [operation.as_strategy()]
        keys = real_keys(operation.path)
        if keys:  # also with keys of rows that exist, so that answers with bodies are checked too
            strategies.append(operation.as_strategy().map(lambda case, keys=keys: _with_keys(case, keys)))
        for strategy in strategies:

            @given(case=strategy)
            @settings(
                max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
            )
            def call(case):
                response = case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)
                answered.add((case.operation.method.upper(), case.operation.path, response.status_code))

            call()
    assert walked > 30
    codes = {code for _method, _path, code in answered}
    assert {200, 201, 400, 404} <= codes, codes  # real rows were read and written, bad input refused
    task = "/api/flows/helloworld/processes/{process_pk}/approve/{task_pk}/"
    assert ("GET", task, 200) in answered


def _with_keys(case, keys):
    case.path_parameters = {**(case.path_parameters or {}), **keys}
    return case


def real_keys_by_path():
    """``keys(path)``: the process and task keys of rows that exist, for an operation's path parameters."""
    from viewflow.models import Task

    latest = {}
    for task in Task.objects.order_by("pk"):
        node = task.flow_task
        latest[(node.flow_class._meta.flow_label, node.name)] = {"process_pk": task.process_id, "task_pk": task.pk}

    def keys(path):
        match = re.match(r"^/api/flows/(\w+)/processes/\{process_pk\}/(?:(\w+)/\{task_pk\}/)?", path)
        if match is None:
            return None
        label, node = match.groups()
        if node is None:
            found = [value for (flow, _node), value in latest.items() if flow == label]
            return {"process_pk": found[0]["process_pk"]} if found else None
        return latest.get((label, node))

    return keys
