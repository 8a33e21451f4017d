"""Model fields that store a flow class or a flow node as a dotted path."""

from __future__ import annotations

import functools
import logging

from django.db import models
from django.utils.module_loading import import_string

from .registry import is_flow_class

__all__ = ["FlowReferenceField", "TaskReferenceField", "flow_path", "node_path"]

logger = logging.getLogger(__name__)


def flow_path(flow_class) -> str:
    return f"{flow_class.__module__}.{flow_class.__qualname__}"


def node_path(node) -> str:
    return f"{flow_path(node.flow_class)}.{node.name}"


@functools.cache
def import_flow(path: str):
    """Return the flow class at ``path``; None (logged) when the path is stale or tampered."""
    try:
        flow_class = import_string(path)
    except ImportError:
        logger.error("viewflow: no flow class at %r", path)
        return None
    if not is_flow_class(flow_class):
        logger.error("viewflow: %r is not a Flow subclass", path)
        return None
    return flow_class


@functools.cache
def import_node(path: str):
    """Return the node at ``path`` ("module.FlowClass.node"); None (logged) when unknown."""
    class_path, _, name = path.rpartition(".")
    flow_class = import_flow(class_path) if class_path else None
    if flow_class is None:
        return None
    node = flow_class._meta.nodes.get(name)
    if node is None:
        logger.error("viewflow: flow %s has no node %r", class_path, name)
    return node


class _ReferenceField(models.CharField):
    """A CharField whose Python value is an object and whose column holds its path."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 255:
            del kwargs["max_length"]
        return name, f"viewflow.fields.{type(self).__name__}", args, kwargs

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def to_python(self, value):
        if isinstance(value, str):
            return self.resolve(value) if value else None
        return value

    def get_prep_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return self.path_of(value)

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))


class FlowReferenceField(_ReferenceField):
    """Store a Flow subclass; read back as the class itself."""

    resolve = staticmethod(import_flow)
    path_of = staticmethod(flow_path)


class TaskReferenceField(_ReferenceField):
    """Store a flow node; read back as the node object."""

    resolve = staticmethod(import_node)
    path_of = staticmethod(node_path)
