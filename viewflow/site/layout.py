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
  per form); ``formset_class`` is a Django inline formset class or a
  django-extra-views ``InlineFormSetFactory``. The mixin builds it around the
  object the form edits (or the process), binds it on POST, validates it with
  the form and hands it to ``form_valid(form, *formsets)``.

A view that names no ``fields`` gets those its layout names. Visible fields
and formsets that the layout does not name are rendered after it, so a field
added to ``fields`` is never silently dropped from the page.
"""

from __future__ import annotations

from django.forms.models import BaseInlineFormSet
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

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
    """An inline formset under a title, one table row per form.

    ``formset_class`` is a Django inline formset class
    (``inlineformset_factory(...)``) or a django-extra-views
    ``InlineFormSetFactory`` subclass, as 0.6 layouts name them.
    """

    template_name = "viewflow/layout/inline.html"

    def __init__(self, title, formset_class):
        super().__init__()
        self.title = title
        self.formset_class = formset_class

    def inlines(self):
        yield self

    def render(self, state):
        formset = state.take_formset(self.formset_class)
        if formset is None:
            return ""
        return render_inline(self.title, formset)

    def __repr__(self):
        return f"Inline({self.title!r}, {self.formset_class.__name__})"


def render_inline(title, formset):
    return render_to_string(Inline.template_name, {"title": title, "formset": formset})


class Layout(Element):
    """The whole form: its children, then any visible field and formset they do not name."""

    def render_form(self, form, formsets=()):
        """HTML of ``form`` (and the instances of the layout's formsets) arranged by this layout."""
        state = _RenderState(form, formsets)
        html = [self.render(state)]
        named = set(self.field_names())
        for field in form.visible_fields():
            if field.name not in named:
                html.append(state.render_field(field.name))
        for formset in state.unrendered():
            html.append(render_inline(_formset_title(formset), formset))
        return mark_safe("".join(html))


def _formset_title(formset):
    model = getattr(formset, "model", None)
    return capfirst(model._meta.verbose_name_plural) if model is not None else ""


class _RenderState:
    field_template = "viewflow/includes/field.html"

    def __init__(self, form, formsets):
        self.form = form
        self.formsets = list(formsets)

    def take_formset(self, source):
        """The first formset not rendered yet that was built from ``source`` (a formset class or factory)."""
        for formset in self.formsets:
            if formset_source(formset) is source:
                self.formsets.remove(formset)
                return formset
        return None

    def unrendered(self):
        return list(self.formsets)

    def render_field(self, name):
        if name not in self.form.fields:
            raise KeyError(f"The layout names the field {name!r}, which {type(self.form).__name__} does not have.")
        return render_to_string(self.field_template, {"field": self.form[name]})


def formset_source(formset):
    """What a formset was built from: its Inline's formset class or extra-views factory."""
    return getattr(formset, "layout_source", type(formset))


def is_factory(source):
    """Is ``source`` a django-extra-views ``InlineFormSetFactory`` (not a formset class)?"""
    return hasattr(source, "construct_formset") and not hasattr(source, "management_form")


class LayoutMixin:
    """Render the view's form with ``layout`` and handle the layout's inline formsets.

    A view that names no ``fields`` (and no ``form_class``) gets the fields the
    layout names; a django-extra-views view that names no ``inlines`` gets the
    layout's ``Inline`` factories. The template gets ``layout`` and
    ``formsets``; ``{% layout_form %}`` (in the ``viewflow`` tag library)
    renders them. With ``StartViewMixin``/``TaskViewMixin`` a POST validates the
    form and every formset together and hands them to ``form_valid(form, *formsets)``.
    """

    layout = None

    def get_layout(self):
        return self.layout

    def get_form_class(self):
        layout = self.get_layout()
        if layout is not None and getattr(self, "form_class", None) is None and not getattr(self, "fields", None):
            names = list(dict.fromkeys(layout.field_names()))
            if names:
                self.fields = names
        return super().get_form_class()

    def get_inlines(self):
        """django-extra-views' inlines: the view's own, else the layout's ``Inline`` factories."""
        own = getattr(super(), "get_inlines", None)
        inlines = own() if own is not None else []
        if not inlines:
            inlines = [source for source in self._layout_sources() if is_factory(source)]
        return inlines

    def _layout_sources(self):
        layout = self.get_layout()
        return [inline.formset_class for inline in layout.inlines()] if layout is not None else []

    def get_formset_classes(self):
        """The layout's Django formset classes (extra-views factories are built as the view's inlines)."""
        sources = self._layout_sources()
        if not hasattr(self, "construct_inlines"):
            return sources
        return [source for source in sources if not is_factory(source)]

    def get_formset_parent(self, model):
        """The object an inline formset of ``model`` hangs on: the form's object, else the process."""
        candidates = [getattr(self, "object", None)]
        activation = getattr(self, "activation", None)
        if activation is not None:
            candidates.append(activation.process)
        for candidate in candidates:
            if candidate is not None and _points_to(model, candidate):
                return candidate
        return candidates[0]

    def get_formset_kwargs(self, formset_class):
        kwargs = {"prefix": formset_class.get_default_prefix()}
        if issubclass(formset_class, BaseInlineFormSet):
            kwargs["instance"] = self.get_formset_parent(formset_class.model)
        if self.request.method in ("POST", "PUT"):
            kwargs.update(data=self.request.POST, files=self.request.FILES)
        return kwargs

    def build_formset(self, source):
        """One formset of the layout, from a formset class or an extra-views factory."""
        if is_factory(source):
            parent = self.get_formset_parent(source.model)
            parent_model = type(parent) if parent is not None else self._form_model()
            formset = source(parent_model, self.request, parent, self.kwargs, self).construct_formset()
        else:
            formset = source(**self.get_formset_kwargs(source))
        formset.layout_source = source
        return formset

    def _form_model(self):
        form_class = getattr(self, "_form_class", None) or self.get_form_class()
        meta = getattr(form_class, "_meta", None)
        return getattr(meta, "model", None) or getattr(self, "model", None)

    def get_formsets(self):
        if getattr(self, "_formsets", None) is None:
            inherited = list(super().get_formsets()) if hasattr(super(), "get_formsets") else []
            if hasattr(self, "construct_inlines"):  # extra-views built them from get_inlines()
                for source, formset in zip(self.get_inlines(), inherited):
                    formset.layout_source = source
            own = [self.build_formset(source) for source in self.get_formset_classes()]
            self._formsets = inherited + own
        return self._formsets

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "object" not in context and getattr(self, "object", None) is not None:
            context["object"] = self.object
        context["layout"] = self.get_layout()
        context["formsets"] = self.get_formsets()
        return context


def _points_to(model, obj):
    """Has ``model`` a foreign key to ``obj``'s model (or a parent of it)?"""
    return any(
        field.many_to_one and field.related_model is not None and isinstance(obj, field.related_model)
        for field in model._meta.fields
    )
