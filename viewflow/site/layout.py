"""A small form layout language: arrange a view's fields and inline formsets on a grid.

A view sets ``layout`` and mixes in :class:`LayoutMixin` (``StartView`` and
``ProcessView`` already do)::

    class ShipmentView(ProcessView):
        fields = ["name", "street", "city", "zip", "notes"]
        layout = Layout(
            Row("name"),
            Fieldset(_("Address"), Row(Span8("street"), Span4("zip")), "city"),
            Inline(_("Items"), ItemFormSet),
            "notes",
        )

Elements:

* a field name (a string) renders that field with its label, help and errors;
* ``Row(a, b, ...)`` puts its children side by side on medium and larger
  screens (equal widths unless a child is a ``SpanN``) and stacks them on
  phones;
* ``Column(a, b, ...)`` stacks its children; inside a ``Row`` it is one cell;
* ``Fieldset(title, ...)`` groups children under a legend;
* ``Span2(...)`` ... ``Span12(...)`` give a cell of a ``Row`` that many of the
  grid's twelve columns;
* ``Inline(title, formset_class)`` renders an inline formset (one table row
  per form); the mixin builds it, binds it on POST, validates it with the form
  and hands it to ``form_valid(form, *formsets)``.

Visible fields that the layout does not name are rendered after it, so a
field added to ``fields`` is never silently dropped from the page.
"""

from __future__ import annotations

from django.forms.models import BaseInlineFormSet
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

__all__ = [
    "LayoutMixin",
    "Layout",
    "Row",
    "Column",
    "Fieldset",
    "Span",
    "Span2",
    "Span3",
    "Span4",
    "Span5",
    "Span6",
    "Span7",
    "Span8",
    "Span9",
    "Span10",
    "Span11",
    "Span12",
    "Inline",
]


class Element:
    """A part of a layout: knows the fields and inlines below it and renders itself."""

    #: width in grid columns (1-12) when the element is a cell of a Row; None: share equally
    span = None

    def __init__(self, *children):
        self.children = [as_element(child) for child in children]

    def field_names(self):
        for child in self.children:
            yield from child.field_names()

    def inlines(self):
        for child in self.children:
            yield from child.inlines()

    def render(self, state):
        return mark_safe("".join(child.render(state) for child in self.children))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.children))})"


class Field(Element):
    """One form field, by name."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def field_names(self):
        yield self.name

    def render(self, state):
        return state.render_field(self.name)

    def __repr__(self):
        return repr(self.name)


def as_element(value):
    if isinstance(value, Element):
        return value
    if isinstance(value, str):
        return Field(value)
    raise TypeError(f"A layout holds field names and layout elements, not {value!r}.")


class Row(Element):
    """Children side by side on medium and larger screens, stacked on small ones."""

    def render(self, state):
        cells = []
        for child in self.children:
            width = f"col-md-{child.span}" if child.span else "col-md"
            cells.append(format_html('<div class="col-12 {}">{}</div>', width, child.render(state)))
        return format_html('<div class="row g-3 vf-row">{}</div>', mark_safe("".join(cells)))


class Column(Element):
    """Children stacked; one cell when it sits in a Row."""

    def __init__(self, *children, span=None):
        super().__init__(*children)
        self.span = span

    def render(self, state):
        return format_html('<div class="vf-column">{}</div>', super().render(state))


class Fieldset(Element):
    """Children grouped under a legend."""

    def __init__(self, title, *children):
        super().__init__(*children)
        self.title = title

    def render(self, state):
        return format_html(
            '<fieldset class="vf-fieldset"><legend class="vf-legend">{}</legend>{}</fieldset>',
            self.title,
            super().render(state),
        )


class Span(Element):
    """Children in a cell ``span`` grid columns wide (of twelve) when in a Row."""

    def __init__(self, span, *children):
        if not 1 <= int(span) <= 12:
            raise ValueError(f"Span takes 1 to 12 grid columns, not {span!r}.")
        super().__init__(*children)
        self.span = int(span)

    def __repr__(self):
        return f"Span{self.span}({', '.join(map(repr, self.children))})"


def _span_class(width):
    def __init__(self, *children):
        Span.__init__(self, width, *children)

    return type(f"Span{width}", (Span,), {"__init__": __init__, "__doc__": f"A cell {width}/12 wide in a Row."})


Span2, Span3, Span4, Span5, Span6, Span7, Span8, Span9, Span10, Span11, Span12 = (
    _span_class(width) for width in range(2, 13)
)


class Inline(Element):
    """An inline formset of ``formset_class`` under a title, one table row per form."""

    template_name = "viewflow/layout/inline.html"

    def __init__(self, title, formset_class):
        super().__init__()
        self.title = title
        self.formset_class = formset_class

    def inlines(self):
        yield self

    def render(self, state):
        formset = state.formsets.get(self.formset_class)
        if formset is None:
            return ""
        return render_to_string(self.template_name, {"title": self.title, "formset": formset})

    def __repr__(self):
        return f"Inline({self.title!r}, {self.formset_class.__name__})"


class Layout(Element):
    """The whole form: its children, then any visible field they do not name."""

    def render_form(self, form, formsets=()):
        """HTML of ``form`` (and the instances of the layout's formsets) arranged by this layout."""
        state = _RenderState(form, formsets)
        html = [self.render(state)]
        named = set(self.field_names())
        for field in form.visible_fields():
            if field.name not in named:
                html.append(state.render_field(field.name))
        return mark_safe("".join(html))


class _RenderState:
    field_template = "viewflow/includes/field.html"

    def __init__(self, form, formsets):
        self.form = form
        self.formsets = {type(formset): formset for formset in formsets}

    def render_field(self, name):
        if name not in self.form.fields:
            raise KeyError(f"The layout names the field {name!r}, which {type(self.form).__name__} does not have.")
        return render_to_string(self.field_template, {"field": self.form[name]})


class LayoutMixin:
    """Render the view's form with ``layout`` and handle the layout's inline formsets.

    The template gets ``layout`` and ``formsets``; ``{% layout_form %}`` (in the
    ``viewflow`` tag library) renders them. On POST the form and every formset
    are validated together; when all are valid the view's
    ``form_valid(form, *formsets)`` is called.
    """

    layout = None

    def get_layout(self):
        return self.layout

    def get_formset_classes(self):
        layout = self.get_layout()
        return [inline.formset_class for inline in layout.inlines()] if layout is not None else []

    def get_formset_kwargs(self, formset_class):
        kwargs = {"prefix": formset_class.get_default_prefix()}
        if issubclass(formset_class, BaseInlineFormSet):
            kwargs["instance"] = getattr(self, "object", None)
        if self.request.method in ("POST", "PUT"):
            kwargs.update(data=self.request.POST, files=self.request.FILES)
        return kwargs

    def get_formsets(self):
        if not hasattr(self, "_formsets"):
            self._formsets = [
                formset_class(**self.get_formset_kwargs(formset_class)) for formset_class in self.get_formset_classes()
            ]
        return self._formsets

    def post(self, request, *args, **kwargs):
        if not self.get_formset_classes():
            return super().post(request, *args, **kwargs)
        self.object = self.get_object() if hasattr(self, "get_object") else None
        form = self.get_form()
        formsets = self.get_formsets()
        if all([form.is_valid()] + [formset.is_valid() for formset in formsets]):
            return self.form_valid(form, *formsets)
        return self.form_invalid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "object" not in context and getattr(self, "object", None) is not None:
            context["object"] = self.object
        context["layout"] = self.get_layout()
        context["formsets"] = self.get_formsets()
        return context

