"""The web site of the flows, and the form layout helpers its views use.

``viewsite.register(MyFlow)`` and ``path("flows/", include(viewsite.urls))``
serve every registered flow; ``Layout``, ``Row``, ``Column``, ``Fieldset``,
``Span2``...``Span12`` and ``Inline`` arrange a view's form (see
:mod:`viewflow.site.layout`).
"""

from . import layout
from .layout import *  # noqa: F401,F403  (LayoutMixin, Layout, Row, Column, Fieldset, Span2..Span12, Inline)
from .sites import FlowSite, flow_urlpatterns, viewsite

__all__ = ["FlowSite", "viewsite", "flow_urlpatterns", *layout.__all__]
