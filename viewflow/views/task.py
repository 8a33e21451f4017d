"""The ready-made task view."""

from django.views.generic import UpdateView

from ..site.layout import LayoutMixin
from .mixins import ProcessModelMixin, TaskViewMixin

__all__ = ["ProcessView"]


class ProcessView(LayoutMixin, ProcessModelMixin, TaskViewMixin, UpdateView):
    """Do a task with a ModelForm of the process's ``fields`` (none: a plain "done" button).

    Set ``layout`` (see :mod:`viewflow.site.layout`) to arrange the fields and add inline formsets.
    """

    fields = ()
