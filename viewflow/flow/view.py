"""Nodes that people do through Django views."""

from __future__ import annotations

from .base import HumanTask

__all__ = ["View", "ViewMixin"]


class ViewMixin:
    """A node with a view: a view class (``**view_kwargs`` go to ``as_view``) or a ready callable."""

    def __init__(self, view=None, **view_kwargs):
        super().__init__()
        self._view = view
        self._view_kwargs = view_kwargs
        self._view_callable = None
        self.api_serializer = None

    def Serializer(self, serializer_class):
        """The body the REST API takes for this node, where the view's form cannot serve.

        ``serializer_class`` is a Django REST framework serializer class or its
        dotted path (so that flows need not import the framework). The API
        validates the body with it and calls its ``save()`` inside the step, with
        ``instance`` the process and ``context["activation"]`` the activation, then
        completes the task. Without it the API validates with the view's own form;
        a view whose form cannot be found (a function view, say) refuses the API.
        """
        self.api_serializer = serializer_class
        return self

    @property
    def view(self):
        """The view callable the node was declared with, or None: the site then serves its default view.

        (:func:`viewflow.site.nodes.node_view` answers for both.)
        """
        if self._view_callable is None and self._view is not None:
            view = self._view
            if hasattr(view, "as_view"):
                view = view.as_view(**self._view_kwargs)
            self._view_callable = view
        return self._view_callable

    def url_kwargs(self):
        return {"flow_class": self.flow_class, "flow_task": self}


class View(ViewMixin, HumanTask):
    """A human task done through a view (``ProcessView`` or a view using ``TaskViewMixin``)."""

    can_undo = True
