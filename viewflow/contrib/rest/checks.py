"""System checks of the REST API.

| id | problem |
| --- | --- |
| viewflow_rest.E001 | an app the API needs is not in ``INSTALLED_APPS`` |
| viewflow_rest.W001 | a Start or View node whose body the API cannot know (its view's form cannot be found) |
"""

from __future__ import annotations

from django.apps import apps
from django.core import checks

__all__ = ["check_installed_apps", "check_node_bodies", "REQUIRED_APPS"]

#: what each app needed beside ``viewflow.contrib.rest`` gives the API
REQUIRED_APPS = {
    "rest_framework": "Django REST framework",
    "drf_spectacular": "the OpenAPI schema and the Swagger UI page's templates",
    "drf_spectacular_sidecar": "Swagger UI's scripts and styles, served as static files",
}


@checks.register("viewflow")
def check_installed_apps(app_configs=None, **kwargs):
    return [
        checks.Error(
            f"{name!r} is not in INSTALLED_APPS; viewflow.contrib.rest needs it for {why}.",
            hint=f"Add {name!r} to INSTALLED_APPS (pip install 'viewflow[rest]' installs it).",
            id="viewflow_rest.E001",
        )
        for name, why in REQUIRED_APPS.items()
        if not apps.is_installed(name)
    ]


@checks.register("viewflow")
def check_node_bodies(app_configs=None, **kwargs):
    from viewflow.base import all_flows

    from .bodies import has_body

    warnings = []
    for flow_class in all_flows():
        for node in flow_class._meta.nodes.values():
            if hasattr(node, "view") and not has_body(node):
                warnings.append(
                    checks.Warning(
                        f"{flow_class.__qualname__}.{node.name}: the REST API cannot take this node's body: "
                        "its view has no form the API can find, so starting or completing it answers 405.",
                        hint="Name a serializer on the node: .Serializer(MySerializer).",
                        obj=flow_class,
                        id="viewflow_rest.W001",
                    )
                )
    return warnings
