"""The ready-made start view."""

from django.views.generic import CreateView

from ..site.layout import LayoutMixin
from .mixins import ProcessModelMixin, StartViewMixin

__all__ = ["StartView", "StartProcessView"]


class StartView(LayoutMixin, ProcessModelMixin, StartViewMixin, CreateView):
    """Start a process with a ModelForm of the process's ``fields`` (none: a plain confirmation).

    Set ``layout`` (see :mod:`viewflow.site.layout`) to arrange the fields and add inline formsets.
    """

    fields = ()


StartProcessView = StartView
