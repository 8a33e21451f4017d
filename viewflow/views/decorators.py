"""Function-based start and task views: ``@flow_start_view`` and ``@flow_view``.

The decorated function is a plain Django view that finds the activation in
``request.activation`` (``.process``, ``.task``) and completes it itself::

    @flow_view
    def approve(request, **kwargs):
        form = ApproveForm(request.POST or None, instance=request.activation.process)
        if form.is_valid():
            form.save()
            request.activation.done()
            return redirect(get_next_task_url(request, request.activation.process))
        return render(request, "approve.html", {"form": form})

    approve_node = flow.View(approve).Permission(auto_create=True)

The decorator does what the mixins do for class-based views: it sends
anonymous users to the login page, checks that the user may start the process
or do the task, and runs a POST inside the flow's lock (the task re-read after
the lock is taken) while a GET takes no lock and writes nothing. A start view
calls ``request.activation.done()`` to create the process (or
``save_process()`` first when it has formsets to save); a task view saves what
it changed and calls ``request.activation.done()``.
"""

from __future__ import annotations

import functools

from django.views.generic import View

from .mixins import StartViewMixin, TaskViewMixin
from .urls import next_task_url, process_url

__all__ = ["flow_start_view", "flow_view", "get_next_task_url"]


class _FunctionViewMixin:
    """Hand every request to ``view_func`` with ``request.activation`` set."""

    view_func = None

    def handle(self, request, *args, **kwargs):
        request.activation = self.activation
        return self.view_func(request, *args, **kwargs)

    get = post = handle  # the site answers no other method (see refuse_other_methods)


class FunctionStartView(_FunctionViewMixin, StartViewMixin, View):
    """The class behind ``@flow_start_view``."""


class FunctionTaskView(_FunctionViewMixin, TaskViewMixin, View):
    """The class behind ``@flow_view``."""


def _decorate(view_class, func):
    view = view_class.as_view(view_func=func)
    functools.update_wrapper(view, func, updated=())
    return view


def flow_start_view(func):
    """Make ``func(request, **kwargs)`` the view of a ``flow.Start`` node."""
    return _decorate(FunctionStartView, func)


def flow_view(func):
    """Make ``func(request, **kwargs)`` the view of a ``flow.View`` node."""
    return _decorate(FunctionTaskView, func)


def get_next_task_url(request, process):
    """Where to go after a step: the user's next task in ``process``, else the process page."""
    return next_task_url(request.user, process) or process_url(process)
