"""Template tags of the flow site.

``{% flowurl obj [action] [as var] %}`` — the URL of a flow class, a process or a task::

    {% flowurl task %}                 the task's own page
    {% flowurl task "assign" %}        claim it (also "detail", "unassign", "cancel", "retry", ...)
    {% flowurl process %}              the process page
    {% flowurl flow_class %}           the flow's process list
    {% flowurl flow_class "start" %}   a start node by name (any node URL without arguments)

``{% flow_perms user task as perms %}`` — what the user may do with the task::

    {% if "assign" in perms %}<a href="{% flowurl task 'assign' %}">Claim</a>{% endif %}
"""

from django import template

from ..models import Process, Task
from ..permissions import task_permissions
from ..views.urls import flow_url, process_url, task_url

register = template.Library()


@register.simple_tag
def flowurl(obj, action=None):
    if isinstance(obj, Task):
        if obj.flow_task is None:  # its node path names no node any more: nothing to link to
            return ""
        return task_url(obj, action)
    if isinstance(obj, Process):
        return process_url(obj) if action is None else process_url(obj, f"process-{action}")
    if isinstance(obj, type) and hasattr(obj, "_meta") and hasattr(obj._meta, "flow_label"):
        return flow_url(obj, action or "process-list")
    raise template.TemplateSyntaxError(f"flowurl: cannot make a URL of {obj!r}")


@register.simple_tag
def flow_perms(user, task):
    return task_permissions(user, task)


@register.inclusion_tag("viewflow/includes/status.html")
def status_badge(obj):
    return {"status": obj.status, "label": obj.get_status_display()}


@register.simple_tag(takes_context=True)
def task_counts(context):
    """Inbox and queue counts for the navigation (two indexed COUNT queries)."""
    from ..views.lists import queue_filter

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "inbox": Task.objects.filter(owner=user, status__in=("ASSIGNED", "STARTED")).count(),
        "queue": Task.objects.filter(queue_filter(user)).count(),
    }
