"""What the API answers: flows and nodes, processes, tasks, as JSON.

Every field is declared with its type, so the OpenAPI schema says exactly what
a response holds (the tests check responses against it). A process's own
fields (``HelloWorldProcess.text``) come in ``data``, with a component per flow.
"""

from __future__ import annotations

import functools

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from viewflow.models import Process, Task

__all__ = [
    "NodeSerializer",
    "StartNodeSerializer",
    "FlowSerializer",
    "FlowDetailSerializer",
    "TaskSerializer",
    "TaskDetailSerializer",
    "ProcessSerializer",
    "ProcessDetailSerializer",
    "process_detail_serializer",
    "ReassignSerializer",
    "ProcessFilterSerializer",
    "TaskFilterSerializer",
    "ErrorSerializer",
    "api_url",
]

NAMESPACE = "viewflow_rest"


def api_url(name, flow_class=None, **kwargs):
    """The URL of an API endpoint: ``name`` in the flow's namespace when ``flow_class`` is given."""
    if flow_class is not None:
        name = f"{flow_class._meta.flow_label}:{name}"
    return reverse(f"{NAMESPACE}:{name}", kwargs=kwargs or None)


def task_api_url(task, action="detail"):
    node = task.flow_task
    return api_url(f"{node.name}-{action}", node.flow_class, process_pk=task.process_id, task_pk=task.pk)


def process_api_url(process, action="process-detail"):
    return api_url(action, process.flow_class, process_pk=process.pk)


class ErrorSerializer(serializers.Serializer):
    """A refusal: what went wrong, in a sentence."""

    detail = serializers.CharField()


class NodeSerializer(serializers.Serializer):
    """A node of a flow."""

    name = serializers.CharField()
    type = serializers.CharField(source="task_type")
    title = serializers.CharField(source="task_title")
    description = serializers.CharField()


class StartNodeSerializer(serializers.Serializer):
    """A start node the user may start the flow through, and where to POST."""

    name = serializers.CharField()
    title = serializers.CharField(source="task_title")
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_url(self, node):
        return api_url(f"{node.name}-start", node.flow_class)


class FlowSerializer(serializers.Serializer):
    """A flow the user may see."""

    label = serializers.CharField(source="_meta.flow_label")
    title = serializers.CharField(source="_meta.title")
    description = serializers.CharField(source="_meta.description")
    url = serializers.SerializerMethodField()
    start_nodes = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_url(self, flow_class):
        return api_url("flow-detail", flow_class)

    @extend_schema_field(StartNodeSerializer(many=True))
    def get_start_nodes(self, flow_class):
        from .bodies import has_body

        user = self.context["request"].user
        nodes = [
            node for node in flow_class._meta.start_nodes
            if hasattr(node, "view") and has_body(node) and node.can_execute(user)
        ]
        return StartNodeSerializer(nodes, many=True).data


class FlowDetailSerializer(FlowSerializer):
    """A flow with every node."""

    nodes = serializers.SerializerMethodField()

    @extend_schema_field(NodeSerializer(many=True))
    def get_nodes(self, flow_class):
        return NodeSerializer(flow_class._meta.nodes.values(), many=True).data


class TaskSerializer(serializers.ModelSerializer):
    """A task, as lists show it."""

    flow = serializers.SerializerMethodField()
    node = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    owner_username = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id", "flow", "node", "title", "flow_task_type", "status", "process", "owner", "owner_username",
            "created", "started", "finished", "url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_flow(self, task):
        node = task.flow_task
        return node.flow_class._meta.flow_label if node is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_node(self, task):
        return task.flow_task.name if task.flow_task is not None else None

    @extend_schema_field(serializers.CharField())
    def get_title(self, task):
        return str(task.flow_task.task_title) if task.flow_task is not None else str(task)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_owner_username(self, task):
        return task.owner.get_username() if task.owner_id is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, task):
        return task_api_url(task) if task.flow_task is not None else None


class TaskDetailSerializer(TaskSerializer):
    """A task with what the user may do with it (``actions``: POST ``<task url><action>/``)."""

    description = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    previous = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "owner_permission", "description", "previous", "actions"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_description(self, task):
        return str(task.flow_task.description) if task.flow_task is not None else ""

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, task):
        return sorted(self.context.get("actions", ()))


class ProcessSerializer(serializers.ModelSerializer):
    """A process, as lists show it."""

    flow = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Process
        fields = ["id", "flow", "title", "status", "created", "finished", "url"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_flow(self, process):
        return process.flow_class._meta.flow_label if process.flow_class else None

    @extend_schema_field(serializers.CharField())
    def get_title(self, process):
        return str(process)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, process):
        return process_api_url(process) if process.flow_class else None


class ProcessDetailSerializer(ProcessSerializer):
    """A process with its active tasks, its history's URL and what the user may do with it."""

    description = serializers.SerializerMethodField()
    active_tasks = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(ProcessSerializer.Meta):
        fields = [*ProcessSerializer.Meta.fields, "description", "active_tasks", "history", "actions"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_description(self, process):
        return process.flow_class._meta.description

    @extend_schema_field(TaskSerializer(many=True))
    def get_active_tasks(self, process):
        return TaskSerializer(self.context.get("active_tasks", ()), many=True).data

    @extend_schema_field(serializers.CharField())
    def get_history(self, process):
        return process_api_url(process, "process-tasks")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, process):
        return sorted(self.context.get("actions", ()))


@functools.cache
def process_detail_serializer(flow_class):
    """The process detail of one flow, with the process's own fields in ``data`` (a schema component per flow)."""
    from .bodies import flow_component_name

    model = flow_class.process_cls
    own = [
        field.name for field in model._meta.concrete_fields
        if field.model is not Process and not field.primary_key and not getattr(field, "parent_link", False)
        and not (field.remote_field is not None and getattr(field.remote_field, "parent_link", False))
    ]
    name = flow_component_name(flow_class)
    meta = type("Meta", (), {"model": model, "fields": own, "read_only_fields": own})
    data_class = type(f"{name}ProcessData", (serializers.ModelSerializer,), {"Meta": meta})
    return type(
        f"{name}Process",
        (ProcessDetailSerializer,),
        {"data": data_class(source="*", read_only=True), "Meta": type("Meta", (ProcessDetailSerializer.Meta,), {
            "fields": [*ProcessDetailSerializer.Meta.fields, "data"],
        })},
    )


class ReassignSerializer(serializers.Serializer):
    """Give a task to this user (a manager's operation)."""

    user = serializers.CharField(help_text="The user's primary key.")


class ProcessFilterSerializer(serializers.Serializer):
    """Query parameters of the process list."""

    flow = serializers.CharField(required=False, help_text="A flow label: only that flow's processes.")
    status = serializers.ChoiceField(choices=Process._meta.get_field("status").choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    mine = serializers.BooleanField(
        required=False, default=False,
        help_text="Only processes in which the user owns a task (started it, holds or did a task).",
    )


class TaskFilterSerializer(serializers.Serializer):
    """Query parameters of the inbox, queue and archive."""

    flow = serializers.CharField(required=False, help_text="A flow label: only that flow's tasks.")
