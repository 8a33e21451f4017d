"""Template tags of the flow site: ``{% load viewflow %}``.

``{% flowurl obj [action] [as var] %}`` — the URL of a flow class, a process or a task::

    {% flowurl task %}                 the task's own page (its form)
    {% flowurl task "detail" %}        the task's detail page
    {% flowurl task "process" %}       the page of the task's process (no query)
    {% flowurl task "assign" %}        claim it (also "unassign", "reassign", "cancel", "retry", "undo")
    {% flowurl process %}              the process page
    {% flowurl process "cancel" %}     cancel the whole process
    {% flowurl flow_class %}           the flow's process list
    {% flowurl flow_class "start" %}   a node without arguments by name (a start node), or "chart"
    {% flowurl task "assign" as claim_url %}{% if claim_url %}...{% endif %}

``{% flow_perms user task as perms %}`` — the set of what ``user`` may do with
``task`` (``"execute"``, ``"assign"``, ``"unassign"``, ``"reassign"``,
``"cancel"``, ``"retry"``, ``"undo"``, ``"detail"``)::

    {% flow_perms request.user task as perms %}
    {% if "assign" in perms %}<a href="{% flowurl task 'assign' %}">Claim</a>{% endif %}

More: ``{% status_badge obj %}`` (a process's or task's status as a badge),
``{% due_badge task %}`` (its due time, marked when overdue),
``{% task_counts as counts %}`` (``counts.inbox``, ``counts.queue``),
``{% layout_form layout form formsets %}``, ``{{ formset|formset_title }}`` (an
inline formset's heading), ``{{ field|vf_widget }}`` (a form field's widget with
Bootstrap classes), ``{{ task|duration }}``,
``{% page_url n %}`` and ``{% process_data process as rows %}``.
See docs/templatetags.md.
"""

from __future__ import annotations

from django import template
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import viewflow_settings
from ..models import Process, Task
from ..permissions import task_permissions
from ..views.urls import flow_url, process_url, process_url_of, task_url

__all__ = ["flowurl", "flow_perms"]

register = template.Library()


@register.simple_tag
def flowurl(obj, action=None):
    """The URL of a task (and an action on it), a process, or a flow class.

    ``{% flowurl task %}``, ``{% flowurl task "assign" %}``, ``{% flowurl process %}``,
    ``{% flowurl process "cancel" %}``, ``{% flowurl flow_class %}``,
    ``{% flowurl flow_class "start" %}``; add ``as name`` to store it. A process or
    task not saved yet (those of a start page) has no URL: an empty string.
    """
    if isinstance(obj, (Task, Process)) and obj.pk is None:
        # a start page's process and start task are not saved yet: they have no page
        return ""
    if isinstance(obj, Task):
        if obj.flow_task is None:  # its node path names no node any more: nothing to link to
            return ""
        if action == "process":  # the task's process page, without loading the process
            return process_url_of(obj.flow_task.flow_class, obj.process_id)
        return task_url(obj, action)
    if isinstance(obj, Process):
        return process_url(obj) if action is None else process_url(obj, f"process-{action}")
    if isinstance(obj, type) and hasattr(obj, "_meta") and hasattr(obj._meta, "flow_label"):
        return flow_url(obj, action or "process-list")
    raise template.TemplateSyntaxError(f"flowurl: cannot make a URL of {obj!r}")


@register.simple_tag
def flow_perms(user, task):
    """The set of actions ``user`` may do with ``task``: ``{% flow_perms request.user task as perms %}``.

    Then ``{% if "assign" in perms %}``. Names: ``execute``, ``assign``,
    ``unassign``, ``reassign``, ``cancel``, ``retry``, ``undo``, ``detail``.
    """
    return task_permissions(user, task)


@register.inclusion_tag("viewflow/includes/status.html")
def status_badge(obj):
    """A process's or task's status as a coloured badge."""
    return {"status": obj.status, "label": obj.get_status_display()}


@register.inclusion_tag("viewflow/includes/due.html")
def due_badge(task, now=None):
    """A task's due time; an active task past it is marked overdue, a waiting timer says when it fires."""
    from django.utils import timezone

    from ..status import ACTIVE_TASK_STATUSES

    due = getattr(task, "due", None)
    timer = getattr(task.flow_task, "fires_on_due", False)
    active = task.status in ACTIVE_TASK_STATUSES
    return {
        "due": due,
        "timer": timer,
        "overdue": due is not None and active and not timer and due < (now or timezone.now()),
    }


@register.simple_tag(takes_context=True)
def task_counts(context):
    """Inbox and queue counts for the navigation: one capped counting statement.

    ``counts.inbox``/``counts.queue`` stop at ``COUNT_CAP``; ``counts.inbox_more``/
    ``counts.queue_more`` say the list goes on. A task list page has counted them already.
    """
    from ..views.lists import nav_counts

    if context.get("task_counts"):
        return context["task_counts"]
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return nav_counts(user)


@register.simple_tag
def site_title():
    """The site's name in the navigation (``VIEWFLOW["SITE_TITLE"]``)."""
    return viewflow_settings.SITE_TITLE


@register.simple_tag
def layout_form(layout, form, formsets=()):
    """``form`` and ``formsets`` arranged by ``layout`` (see :mod:`viewflow.site.layout`)."""
    return layout.render_form(form, formsets or ())


@register.filter
def formset_title(formset):
    """The heading of an inline formset with no title of its own: its model's plural name."""
    model = getattr(formset, "model", None)
    return capfirst(model._meta.verbose_name_plural) if model is not None else ""


#: Bootstrap class of each kind of widget (``field.widget_type``); others get form-control
_WIDGET_CLASSES = {
    "checkbox": "form-check-input",
    "select": "form-select",
    "nullbooleanselect": "form-select",
    "selectmultiple": "form-select",
    "radioselect": "",
    "checkboxselectmultiple": "",
    "hidden": "",
}


@register.filter
def vf_widget(field):
    """A bound field's widget with Bootstrap classes, marked invalid when it has errors.

    ``aria-describedby`` is left to Django: it names the help text and the error
    list (``<id>_helptext``, ``<id>_error``), the ids ``field.html`` gives them.
    """
    classes = [field.field.widget.attrs.get("class", ""), _WIDGET_CLASSES.get(field.widget_type, "form-control")]
    attrs = {}
    if field.errors:
        classes.append("is-invalid")
        attrs["aria-invalid"] = "true"
    css = " ".join(c for c in classes if c)
    if css:
        attrs["class"] = css
    return field.as_widget(attrs=attrs)


@register.filter
def duration(task):
    """How long a task took (created to finished), e.g. "3 s", "2 min", "1 h 5 min", "2 d 3 h"."""
    if task is None or not getattr(task, "finished", None) or not getattr(task, "created", None):
        return ""
    return format_seconds((task.finished - task.created).total_seconds())


def format_seconds(seconds):
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts = [ngettext("%d day", "%d days", days) % days, _("%d h") % hours if hours else ""]
    elif hours:
        parts = [_("%d h") % hours, _("%d min") % minutes if minutes else ""]
    elif minutes:
        parts = [_("%d min") % minutes]
    else:
        parts = [_("%d s") % secs]
    return " ".join(part for part in parts if part)


@register.simple_tag(takes_context=True)
def page_url(context, number):
    """The current URL's query string with ``page`` set to ``number`` (keeps filters)."""
    request = context["request"]
    query = request.GET.copy()
    query["page"] = number
    return "?" + query.urlencode()


@register.simple_tag
def process_data(process):
    """``[(label, value)]`` of the process's own fields (those its model adds to ``Process``)."""
    fields = []
    for field in type(process)._meta.concrete_fields:
        if field.model is Process or field.primary_key or field.is_relation:
            continue
        if field.choices:
            value = getattr(process, f"get_{field.name}_display")()
        else:
            value = getattr(process, field.name)
        fields.append((field.verbose_name, value))
    return fields
