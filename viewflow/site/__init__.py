"""The web site of the flows, and the form layout helpers its views use.

``viewsite.register(MyFlow)`` and ``path("flows/", include(viewsite.urls))``
serve every registered flow; ``Layout``, ``Row``, ``Column``, ``Fieldset``,
``Span2``...``Span12`` and ``Inline`` arrange a view's form (see
:mod:`viewflow.site.layout`).
"""

from .layout import (
    Column,
    Fieldset,
    Inline,
    Layout,
    LayoutMixin,
    Row,
    Span,
    Span2,
    Span3,
    Span4,
    Span5,
    Span6,
    Span7,
    Span8,
    Span9,
    Span10,
    Span11,
    Span12,
)
from .sites import FlowSite, flow_urlpatterns, viewsite

__all__ = [
    "FlowSite",
    "viewsite",
    "flow_urlpatterns",
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
