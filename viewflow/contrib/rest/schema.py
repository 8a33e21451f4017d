"""The OpenAPI 3 schema of the API (drf-spectacular) and its Swagger UI, served from the package.

The schema holds the API's own endpoints only (a project's other DRF views are
not described here), with a request body component per Start and View node.
Swagger UI's files come from ``drf-spectacular-sidecar`` through the project's
static files, whatever ``SPECTACULAR_SETTINGS`` say: the page loads nothing
from another host.
"""

from __future__ import annotations

from django.templatetags.static import static
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

__all__ = ["ApiSchemaGenerator", "SchemaView", "SwaggerView", "SCHEMA_SETTINGS"]

#: drf-spectacular settings of this schema (the project's SPECTACULAR_SETTINGS fill in the rest)
SCHEMA_SETTINGS = {
    "TITLE": "Viewflow API",
    "DESCRIPTION": "Start processes, list and do tasks: everything the site offers, through the same engine.",
    # the bodies are request-only and the answers read-only: one component each, named as declared
    "COMPONENT_SPLIT_REQUEST": False,
    "ENUM_NAME_OVERRIDES": {
        "ProcessStatusEnum": "viewflow.status.ProcessStatus.choices",
        "TaskStatusEnum": "viewflow.status.TaskStatus.choices",
    },
}


class ApiEndpointEnumerator(EndpointEnumerator):
    """Only this API's endpoints."""

    def should_include_endpoint(self, path, callback):
        from .views import FlowAPIView

        view_class = getattr(callback, "cls", None)
        if view_class is None or not issubclass(view_class, FlowAPIView):
            return False
        return super().should_include_endpoint(path, callback)


class ApiSchemaGenerator(SchemaGenerator):
    endpoint_inspector_cls = ApiEndpointEnumerator


class SchemaView(SpectacularAPIView):
    """``api/schema/``: the schema as YAML, or JSON with ``?format=json`` or ``Accept: application/json``."""

    generator_class = ApiSchemaGenerator
    custom_settings = SCHEMA_SETTINGS


def _sidecar(path):
    return static(f"drf_spectacular_sidecar/swagger-ui-dist/{path}")


class SwaggerView(SpectacularSwaggerView):
    """``api/docs/``: Swagger UI over the schema, its scripts and styles served by this project."""

    url_name = "viewflow_rest:schema"
    title = SCHEMA_SETTINGS["TITLE"]

    @staticmethod
    def _swagger_ui_resource(filename):
        return _sidecar(filename)

    @staticmethod
    def _swagger_ui_favicon():
        return _sidecar("favicon-32x32.png")
