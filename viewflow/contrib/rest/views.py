"""The API's endpoints: thin views over the engine the site uses.

A start runs in the start node's step, a complete in the task's locked step,
with the body validated by the node view's own form and saved by its
``activation_done`` (:mod:`.bodies`); the other operations call
:mod:`viewflow.operations`. Lists read the site's filters
(:mod:`viewflow.views.lists`) through the same indexes, a cursor page at a time.
Who may do what, and which processes and tasks a user sees, is asked of the
flow's policy (``Flow.policy_class``, :class:`viewflow.policy.FlowPolicy`), as
the site asks it; which task statuses allow an operation, of
:data:`viewflow.rules.TASK_RULES`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import generics, status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from viewflow import operations
from viewflow.activation import run_task_step, undo_blocker
from viewflow.conf import viewflow_settings
from viewflow.forms import ReassignForm
from viewflow.models import Process, Task
from viewflow.policy import restrict_tasks
from viewflow.rules import state_allows, statuses_for
from viewflow.status import ACTIVE_TASK_STATUSES, RUNNING_PROCESS_STATUSES
from viewflow.views.lists import archive_filter, flow_filter, inbox_filter, queue_filter
from viewflow.views.urls import parse_key

from . import serializers as s
from .bodies import INTEGER_KEYS, accept, api_errors, body_serializer, has_body, refusal
from .exceptions import Conflict, api_exception
from .pagination import FinishedFirstPagination, NewestFirstPagination, OldestFirstPagination

__all__ = [
    "FlowListView",
    "FlowDetailView",
    "StartProcessView",
    "ProcessListView",
    "ProcessDetailView",
    "ProcessTasksView",
    "CancelProcessView",
    "TaskDetailView",
    "TaskOperationView",
    "CompleteTaskView",
    "InboxView",
    "QueueView",
    "ArchiveView",
    "OPERATIONS",
]

ERROR = OpenApiResponse(s.ErrorSerializer, description="Refused; `detail` says why.")
FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: the form's field errors, `{field: [messages]}`."
)
COMMON_ERRORS = {401: ERROR, 403: ERROR}


class FlowSchema(AutoSchema):
    """Reads each endpoint's request and responses from its view, so that a node's own body is documented."""

    def get_request_serializer(self):
        return self.view.schema_request()

    def get_response_serializers(self):
        return self.view.schema_responses()

    def get_tags(self):
        return [self.view.schema_tag]

    def get_override_parameters(self):
        return [*super().get_override_parameters(), *self.view.schema_parameters()]

    def get_description(self):
        return self.view.schema_description() or super().get_description()


class FlowAPIView(APIView):
    """Base of every endpoint: JSON in and out, the configured authentication, engine errors as HTTP.

    ``VIEWFLOW["REST_AUTHENTICATION_CLASSES"]`` (dotted paths) replaces the
    project's ``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]`` for these views.
    An anonymous request gets 401 with a ``WWW-Authenticate`` challenge of the
    first scheme that has one.
    """

    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    permission_classes = [IsAuthenticated]
    schema = FlowSchema()
    schema_tag = "flows"
    #: the site whose flows the API serves (set by the URLs)
    site = None
    #: the flow, and the node, an endpoint belongs to (set by the URLs)
    flow_class = None
    node = None

    def get_authenticators(self):
        configured = viewflow_settings.REST_AUTHENTICATION_CLASSES
        classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES if configured is None else configured
        return [(import_string(cls) if isinstance(cls, str) else cls)() for cls in classes]

    def get_authenticate_header(self, request):
        for authenticator in self.get_authenticators():
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return 'Session realm="api"'  # 401 needs a challenge; a session cookie is this one's answer

    def handle_exception(self, exc):
        return super().handle_exception(api_exception(exc) or exc)

    # -- what the endpoint reads -------------------------------------------

    def visible_flows(self):
        user = self.request.user
        return [flow_class for flow_class in self.site.flows() if flow_class.policy.can_view(user)]

    def require_visible(self):
        """403 unless the user may see this endpoint's flow."""
        if not self.flow_class.policy.can_view(self.request.user):
            raise PermissionDenied(_("You may not see this flow."))

    def get_process(self):
        """The flow's process named by the URL, or 404 (also for another flow's, or one the policy hides)."""
        key = lookup_key(self.flow_class.process_cls, self.kwargs["process_pk"])
        process = None
        if key is not None:
            processes = self.flow_class.process_cls._default_manager.filter(pk=key, flow_class=self.flow_class)
            process = self.flow_class.policy.processes(self.request.user, processes).first()
        if process is None:
            raise Http404(_("No such process in this flow."))
        return process

    def get_task(self):
        """The node's task of the process named by the URL, with its process and owner, or 404."""
        process_key = lookup_key(self.flow_class.process_cls, self.kwargs["process_pk"])
        task_key = lookup_key(self.flow_class.task_cls, self.kwargs["task_pk"])
        task = None
        if process_key is not None and task_key is not None:
            tasks = self.flow_class.task_cls._default_manager.select_related("owner", "process").filter(
                pk=task_key, process_id=process_key, flow_task=self.node
            )
            task = self.flow_class.policy.tasks(self.request.user, tasks).first()
        if task is None:
            raise Http404(_("No such task in this process."))
        return task

    # -- the schema ----------------------------------------------------------

    def schema_request(self):
        return None

    def schema_responses(self):
        return {200: None, **COMMON_ERRORS}

    #: the keys the endpoint's path carries (documented as path parameters of the key's type)
    path_keys = ()

    def schema_parameters(self):
        if not self.path_keys:
            return []
        models = {"process_pk": self.flow_class.process_cls, "task_pk": self.flow_class.task_cls}
        return [key_parameter(name, models[name]) for name in self.path_keys]

    def schema_description(self):
        return ""


def _key_field(model):
    field = model._meta.pk
    while field.remote_field is not None:  # a child's link to its parent: the parent's key
        field = field.target_field
    return field


def lookup_key(model, text):
    """``text`` (from a URL) as a primary key of ``model``, or None when it cannot be one (a 404)."""
    field = _key_field(model)
    if field.get_internal_type() in INTEGER_KEYS:
        return parse_key(text)
    try:
        return field.to_python(text)
    except DjangoValidationError:
        return None


def key_parameter(name, model):
    """The path parameter of a key: an integer or a string, as the model's primary key is."""
    integer = _key_field(model).get_internal_type() in INTEGER_KEYS
    return OpenApiParameter(
        name, OpenApiTypes.INT64 if integer else OpenApiTypes.STR, OpenApiParameter.PATH,
        description=_("Primary key."),
    )


class FlowListView(FlowAPIView):
    """The flows the user may see, each with the start nodes they may start it through."""

    def get(self, request):
        return Response(s.FlowSerializer(self.visible_flows(), many=True, context={"request": request}).data)

    def schema_responses(self):
        return {200: s.FlowSerializer(many=True), **COMMON_ERRORS}


class FlowDetailView(FlowAPIView):
    """A flow and all its nodes."""

    def get(self, request):
        self.require_visible()
        return Response(s.FlowDetailSerializer(self.flow_class, context={"request": request}).data)

    def schema_responses(self):
        return {200: s.FlowDetailSerializer, **COMMON_ERRORS}


def process_detail(request, process, flow_class):
    """The process detail answer: the process, its data, its first active tasks, what the user may do."""
    limit = viewflow_settings.PAGE_SIZE
    active = list(
        flow_class.task_cls._default_manager.filter(process_id=process.pk, status__in=ACTIVE_TASK_STATUSES)
        .select_related("owner")
        .order_by("created", "pk")[:limit]
    )
    running = process.status in RUNNING_PROCESS_STATUSES
    may_cancel = running and flow_class.policy.can_cancel_process(request.user, process)
    actions = {"cancel"} if may_cancel else set()
    context = {"request": request, "active_tasks": active, "actions": actions}
    return s.process_detail_serializer(flow_class)(process, context=context).data


class StartProcessView(FlowAPIView):
    """Start a process through this start node. The body is the start form's fields (see its schema).

    201 with the new process. 400 with the form's field errors; 405 when the
    node's view has a form the API cannot find and the node names no serializer.
    """

    def post(self, request):
        node = self.node
        if not has_body(node):
            raise MethodNotAllowed(request.method, detail=refusal(node))
        if not self.flow_class.policy.can_start(request.user, node):
            raise PermissionDenied(_("You may not start this process."))
        with node.start() as activation:
            activation.task.owner = request.user  # who started it (``this.start.owner``), as the site records
            accept(request, node, activation)
        process = activation.process
        data = process_detail(request, process, self.flow_class)
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})

    def schema_request(self):
        return body_serializer(self.node)

    def schema_responses(self):
        return {
            201: s.process_detail_serializer(self.flow_class), 400: FIELD_ERRORS, **COMMON_ERRORS,
            405: ERROR,
        }

    def schema_description(self):
        return f"Start a process of {self.flow_class._meta.title} through {self.node.name}."


class ProcessListView(FlowAPIView, generics.ListAPIView):
    """Processes of the flows the user may see, newest first: filter by flow, status, creation time, "mine"."""

    pagination_class = NewestFirstPagination
    serializer_class = s.ProcessSerializer

    def get_queryset(self):
        params = s.ProcessFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        flows = self.visible_flows()
        if filters.get("flow"):
            flow_class = self.site.get_flow(filters["flow"])
            if flow_class is None:
                raise APIValidationError({"flow": [_("No flow is labelled %(label)s.") % {"label": filters["flow"]}]})
            if flow_class not in flows:
                raise PermissionDenied(_("You may not see this flow."))
            flows = [flow_class]
        user = self.request.user
        queryset = Process.objects.filter(flow_class__in=flows)
        for flow_class in flows:  # a policy that narrows what its flow's users see (only a few do)
            condition = flow_class.policy.process_filter(user)
            if condition is not None:
                seen = flow_class.process_cls._default_manager.filter(condition).values("pk")
                queryset = queryset.filter(~Q(flow_class=flow_class) | Q(pk__in=seen))
        if filters.get("status"):
            queryset = queryset.filter(status=filters["status"])
        if filters.get("created_after"):
            queryset = queryset.filter(created__gte=filters["created_after"])
        if filters.get("created_before"):
            queryset = queryset.filter(created__lt=filters["created_before"])
        if filters.get("mine"):
            owned = Task.objects.filter(owner=user).values("process_id")
            queryset = queryset.filter(pk__in=owned)
        return queryset

    def schema_responses(self):
        return {200: s.ProcessSerializer, 400: FIELD_ERRORS, **COMMON_ERRORS}

    def schema_parameters(self):
        return [s.ProcessFilterSerializer]


class ProcessDetailView(FlowAPIView):
    """A process: its data, its active tasks, the URL of its history, what the user may do with it."""

    path_keys = ("process_pk",)

    def get(self, request, process_pk):
        process = self.get_process()
        self.require_visible()
        return Response(process_detail(request, process, self.flow_class))

    def schema_responses(self):
        return {200: s.process_detail_serializer(self.flow_class), 404: ERROR, **COMMON_ERRORS}


class ProcessTasksView(FlowAPIView, generics.ListAPIView):
    """A process's history: every task, in the order it happened, with who did it and when."""

    path_keys = ("process_pk",)

    pagination_class = OldestFirstPagination
    serializer_class = s.TaskSerializer

    def get_queryset(self):
        process = self.get_process()
        self.require_visible()
        return self.flow_class.task_cls._default_manager.filter(process_id=process.pk).select_related("owner")

    def schema_responses(self):
        return {200: s.TaskSerializer, 400: FIELD_ERRORS, 404: ERROR, **COMMON_ERRORS}


class CancelProcessView(FlowAPIView):
    """Cancel a running process and every task still active in it (a flow manager's operation)."""

    path_keys = ("process_pk",)

    def post(self, request, process_pk):
        process = self.get_process()
        self.require_visible()
        try:
            operations.cancel_process(process, by=request.user)
        except Exception as exc:
            process.refresh_from_db(fields=["status"])
            converted = api_exception(exc, process.status, RUNNING_PROCESS_STATUSES)
            if converted is None:
                raise
            raise converted from exc
        return Response(process_detail(request, process, self.flow_class))

    def schema_responses(self):
        return {200: s.process_detail_serializer(self.flow_class), 404: ERROR, 409: ERROR, **COMMON_ERRORS}


def task_actions(user, task):
    """What ``user`` may do with ``task`` through the API: the operations' names, and ``complete``."""
    node = task.flow_task
    allowed = node.flow_class.policy.task_actions(user, task)
    actions = {action for action in allowed if action in OPERATIONS and action in node.task_actions}
    if "execute" in allowed and has_body(node):
        actions.add("complete")
    if "undo" in actions and undo_blocker(list(task.leading.all())) is not None:
        actions.discard("undo")  # a task it led to already ran: undo would refuse
    return actions


def task_detail(request, task):
    actions = task_actions(request.user, task)
    return s.TaskDetailSerializer(task, context={"request": request, "actions": actions}).data


class TaskDetailView(FlowAPIView):
    """A task: what it is, who has it, what led to it, and what the user may do with it."""

    schema_tag = "tasks"
    path_keys = ("process_pk", "task_pk")

    def get(self, request, process_pk, task_pk):
        return Response(task_detail(request, self.visible_task()))

    def visible_task(self):
        """The task named by the URL (404 if it is not there), if the user may see it (else 403)."""
        task = self.get_task()
        if not self.flow_class.policy.can_view_task(self.request.user, task):
            raise PermissionDenied(_("You may not see this task."))
        return task

    def schema_responses(self):
        return {200: s.TaskDetailSerializer, 404: ERROR, **COMMON_ERRORS}


def _reassign(request, task):
    """Reassign to the user the body names, chosen as the site's form chooses (the active users who may do it)."""
    data = request.data if isinstance(request.data, dict) else {}
    form = ReassignForm({"user": data.get("user")}, tasks=[task])
    if not form.is_valid():
        raise APIValidationError(api_errors(form.errors))
    return operations.reassign(task, form.cleaned_data["user"], by=request.user)


#: the task operations: (do it, its description); the statuses each applies to are :data:`viewflow.rules.TASK_RULES`
OPERATIONS = {
    "assign": (
        lambda request, task: operations.claim(task, request.user),
        "Claim the task: it is assigned to the user (it must be waiting in a queue they may take from).",
    ),
    "unassign": (
        lambda request, task: operations.unassign(task, by=request.user),
        "Give the task back to its queue (its owner, or a flow manager).",
    ),
    "reassign": (
        _reassign,
        "Assign the task to another user (a flow manager).",
    ),
    "cancel": (
        lambda request, task: operations.cancel(task, by=request.user),
        "Cancel the task (a flow manager).",
    ),
    "undo": (
        lambda request, task: operations.undo(task, by=request.user),
        "Reopen a done task while nothing it led to has run (a flow manager).",
    ),
    "retry": (
        lambda request, task: operations.retry(task, by=request.user),
        "Run a task in error again (a flow manager).",
    ),
}


class TaskOperationView(TaskDetailView):
    """POST: do ``action`` on the task through :mod:`viewflow.operations`; answers the task as it is now.

    400 when the operation is not allowed for this task (say, undo once a later
    task ran); 409 when the task's status changed meanwhile (done, claimed,
    canceled by someone else).
    """

    action = None

    def post(self, request, process_pk, task_pk):
        task = self.visible_task()
        perform, _description = OPERATIONS[self.action]
        try:
            perform(request, task)
        except self.flow_class.task_cls.DoesNotExist:
            raise Http404(_("No such task in this process.")) from None  # deleted meanwhile
        except Exception as exc:
            task.refresh_from_db(fields=["status"])
            converted = api_exception(exc, task.status, statuses_for(self.action))
            if converted is None:
                raise
            raise converted from exc
        return Response(task_detail(request, self.get_task()))

    http_method_names = ["post", "options"]

    def schema_request(self):
        return s.ReassignSerializer if self.action == "reassign" else None

    def schema_responses(self):
        responses = {200: s.TaskDetailSerializer, 400: FIELD_ERRORS, 404: ERROR, 409: ERROR, **COMMON_ERRORS}
        return responses

    def schema_description(self):
        return OPERATIONS[self.action][1]


class CompleteTaskView(TaskDetailView):
    """Complete the task with the node's form fields (see its schema); the flow goes on.

    Only the task's owner may (claim it first). 400 with the form's field errors;
    409 when the task was done, canceled or given back meanwhile; 405 when the
    node's view has a form the API cannot find and the node names no serializer.
    """

    http_method_names = ["post", "options"]

    def post(self, request, process_pk, task_pk):
        node, user = self.node, request.user
        if not has_body(node):
            raise MethodNotAllowed(request.method, detail=refusal(node))
        process_key = lookup_key(self.flow_class.process_cls, process_pk)
        task_key = lookup_key(self.flow_class.task_cls, task_pk)
        if process_key is None or task_key is None:
            raise Http404(_("No such task in this process."))
        policy, locked = self.flow_class.policy, False
        try:
            with run_task_step(self.flow_class, process_key, task_key) as (step, task):
                locked = True
                if task.flow_task is not node or not policy.sees_task(user, task):
                    raise Http404(_("No such task in this process."))
                if not node.can_execute(user, task):
                    if not state_allows("complete", task) and policy.can_view_task(user, task):
                        raise Conflict(
                            _("%(task)s is already %(status)s.")
                            % {"task": task, "status": task.get_status_display().lower()}
                        )
                    raise PermissionDenied(_("This task is not assigned to you."))
                accept(request, node, node.activation_class(step, task))
        except self.flow_class.task_cls.DoesNotExist:
            if locked:
                raise  # raised by the node's own code, not by the lock
            raise Http404(_("No such task in this process.")) from None
        return Response(task_detail(request, self.get_task()))

    def schema_request(self):
        return body_serializer(self.node)

    def schema_responses(self):
        return {200: s.TaskDetailSerializer, 400: FIELD_ERRORS, 404: ERROR, 405: ERROR, 409: ERROR, **COMMON_ERRORS}

    def schema_description(self):
        return f"Complete {self.node.name} of {self.flow_class._meta.title} with its form's fields."


class TaskListView(FlowAPIView, generics.ListAPIView):
    """A list of the user's tasks across flows (``?flow=<label>`` narrows it to one flow)."""

    pagination_class = NewestFirstPagination
    serializer_class = s.TaskSerializer
    schema_tag = "tasks"

    def task_filter(self):
        raise NotImplementedError

    def get_queryset(self):
        params = s.TaskFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        user = self.request.user
        queryset = Task.objects.filter(self.task_filter())
        label = params.validated_data.get("flow")
        if label:
            flow_class = self.site.get_flow(label)
            if flow_class is None:
                raise APIValidationError({"flow": [_("No flow is labelled %(label)s.") % {"label": label}]})
            queryset = flow_class.policy.tasks(user, queryset.filter(flow_filter(flow_class)))
        else:
            queryset = restrict_tasks(user, queryset, self.site.flows())
        return queryset.select_related("owner")

    def schema_responses(self):
        return {200: s.TaskSerializer, 400: FIELD_ERRORS, **COMMON_ERRORS}

    def schema_parameters(self):
        return [s.TaskFilterSerializer]


class InboxView(TaskListView):
    """Tasks assigned to the user and still to do, newest first (the inbox index's order)."""

    def task_filter(self):
        return inbox_filter(self.request.user)


class QueueView(TaskListView):
    """Tasks the user may claim, newest first."""

    def task_filter(self):
        return queue_filter(self.request.user)


class ArchiveView(TaskListView):
    """Tasks the user completed, last finished first."""

    pagination_class = FinishedFirstPagination

    def task_filter(self):
        return archive_filter(self.request.user)
