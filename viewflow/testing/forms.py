"""What a browser would send from a page's forms, and what a page says was wrong with them.

A test names only the fields it types into (``approved=True``); everything else
on the page goes back as the browser would send it: the values the page shows,
unticked boxes left out, an inline formset's management form and blank extra
rows included. So a test posts exactly what a person's browser posts, and the
view validates it with its own forms.
"""

from __future__ import annotations

import datetime
import decimal
import uuid

from django import forms
from django.db import models

__all__ = ["page_forms", "browser_data", "form_errors", "widget_data", "as_post_value"]


def _context_values(response):
    """Every value of the template contexts the response was rendered with (none without test instrumentation)."""
    context = getattr(response, "context", None)
    if context is None:
        return []
    contexts = context if isinstance(context, list) else [context]
    seen, values = set(), []
    for ctx in contexts:
        flat = ctx.flatten() if hasattr(ctx, "flatten") else dict(ctx)
        for value in flat.values():
            if id(value) not in seen:
                seen.add(id(value))
                values.append(value)
    return values


def page_forms(response):
    """The Django forms and formsets a page was rendered with, each once, in the order found.

    Formsets come as themselves; an iterable of formsets (django-extra-views'
    ``inlines``) is looked into.
    """
    found, seen = [], set()

    def add(item):
        if id(item) not in seen and isinstance(item, (forms.BaseForm, forms.BaseFormSet)):
            seen.add(id(item))
            found.append(item)

    for value in _context_values(response):
        if isinstance(value, (list, tuple)):
            for item in value:
                add(item)
        else:
            add(value)
    # a form that belongs to a formset is sent with it, not on its own
    members = {id(form) for item in found if isinstance(item, forms.BaseFormSet) for form in item.forms}
    return [item for item in found if id(item) not in members]


def _fields(form_or_formset):
    """``(html name, form field, bound field)`` of every field a browser would send."""
    if isinstance(form_or_formset, forms.BaseFormSet):
        parts = [form_or_formset.management_form, *form_or_formset.forms]  # DELETE/ORDER are fields of each form
    else:
        parts = [form_or_formset]
    for form in parts:
        for name, field in form.fields.items():
            yield form[name].html_name, field, form[name]


def widget_data(widget, html_name, value):
    """``{name: value}`` a browser sends for ``widget`` showing ``value`` (an unticked box sends nothing)."""
    if isinstance(widget, forms.CheckboxInput):
        return {html_name: "on"} if widget.check_test(value) else {}
    if isinstance(widget, forms.MultiWidget):
        values = value if isinstance(value, (list, tuple)) else widget.decompress(value)
        data = {}
        for sub_widget, suffix, sub_value in zip(widget.widgets, widget.widgets_names, values):
            data.update(widget_data(sub_widget, f"{html_name}{suffix}", sub_value))
        return data
    if isinstance(widget, forms.FileInput):
        return {}  # a file must be given by the test itself
    if getattr(widget, "allow_multiple_selected", False):
        values = value if isinstance(value, (list, tuple, set)) else ([] if value in (None, "") else [value])
        return {html_name: [as_post_value(item) for item in values]}
    formatted = widget.format_value(value)  # None too: a NullBooleanSelect shows "unknown"
    if isinstance(formatted, (list, tuple)):
        formatted = formatted[0] if formatted else ""
    return {html_name: "" if formatted is None else str(formatted)}


def as_post_value(value):
    """A Python value as a browser would send it for a field the page does not show."""
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, int, float)):
        return str(value)
    return value


def browser_data(response, fields):
    """POST data for the page in ``response``, with ``fields`` typed in (keys are the inputs' names).

    ``True``/``False`` tick or untick a box, a model instance selects itself, a
    date is written as the field's widget writes it; a name the page has no
    input for is sent as given (``None`` as an empty value, a list as several).
    """
    data, widgets = {}, {}
    for form in page_forms(response):
        for html_name, field, bound in _fields(form):
            widgets[html_name] = field
            if not field.disabled:  # a browser does not send a disabled input
                data.update(widget_data(field.widget, html_name, bound.value()))
    for name, value in fields.items():
        field = widgets.get(name)
        if field is not None:
            data.pop(name, None)
            prepared = value if isinstance(value, (list, tuple, set)) else field.prepare_value(value)
            data.update(widget_data(field.widget, name, prepared))
        elif value is True:
            data[name] = "on"
        elif value is False:
            data.pop(name, None)
        elif value is None:
            data[name] = ""
        elif isinstance(value, (list, tuple, set)):
            data[name] = [as_post_value(item) for item in value]
        else:
            data[name] = as_post_value(value)
    return data


def form_errors(response):
    """``{field name: [messages]}`` of every form and formset on the page ("__all__" for a form's own).

    A formset's own errors (too few rows, say) are under its prefix; a row's
    field errors under the field's input name (``lines-0-product``).
    """
    errors = {}
    for item in page_forms(response):
        if not item.is_bound:
            continue
        if isinstance(item, forms.BaseFormSet):
            if item.non_form_errors():
                errors.setdefault(item.prefix, []).extend(item.non_form_errors())
            for form in item.forms:
                _collect(form, errors)
        else:
            _collect(item, errors)
    return errors


def _collect(form, errors):
    for name, messages in form.errors.items():
        key = name if name == "__all__" or name not in form.fields else form[name].html_name
        if name == "__all__" and form.prefix:
            key = f"{form.prefix}-__all__"
        errors.setdefault(key, []).extend(str(message) for message in messages)
