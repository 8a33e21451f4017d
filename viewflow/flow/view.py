"""Nodes that people do through Django views."""

from __future__ import annotations

from django.urls import path

from .base import HumanTask

__all__ = ["View", "ViewMixin"]


class ViewMixin:
    """A node with a view: a view class (``**view_kwargs`` go to ``as_view``) or a ready callable."""

    def __init__(self, view=None, **view_kwargs):
        super().__init__()
        self._view = view
        self._view_kwargs = view_kwargs
        self._view_callable = None

    @property
    def view(self):
        if self._view_callable is None:
            view = self._view
            if view is None:
                view = self.default_view_class()
            if hasattr(view, "as_view"):
                view = view.as_view(**self._view_kwargs)
            self._view_callable = view
        return self._view_callable

    def default_view_class(self):
        from .. import views

        return views.StartView if self.task_type == "START" else views.ProcessView

    def url_kwargs(self):
        return {"flow_class": self.flow_class, "flow_task": self}


class View(ViewMixin, HumanTask):
    """A human task done through a view (``ProcessView`` or a view using ``TaskViewMixin``)."""

    can_undo = True

    def urls(self):
        task_view = path(self.task_route(), self.view, self.url_kwargs(), name=self.name)
        return [task_view, *super().urls()]
