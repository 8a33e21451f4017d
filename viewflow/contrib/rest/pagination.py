"""Cursor pagination for every list: a page costs the same at row 20 and at row 1,000,000.

A cursor page reads ``page_size + 1`` rows from where the last one ended, in
the order of the index that serves the list (see ``viewflow.models.Task.Meta.indexes``);
nothing counts the list and no OFFSET walks past rows already shown.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from viewflow.conf import viewflow_settings

__all__ = ["NewestFirstPagination", "FinishedFirstPagination", "OldestFirstPagination"]


class ViewflowCursorPagination(CursorPagination):
    """``?cursor=`` from a page's ``next``/``previous``; ``?page_size=`` up to ``max_page_size``."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        """The cursor of the request; one that is not a cursor is bad input (400), not a missing page."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: [exc.detail]}) from exc

    def get_page_size(self, request):
        self.page_size = viewflow_settings.PAGE_SIZE
        return super().get_page_size(request)


class NewestFirstPagination(ViewflowCursorPagination):
    """Inbox, queue and process lists: newest first (the inbox and queue indexes' order)."""

    ordering = ("-created", "-pk")


class FinishedFirstPagination(ViewflowCursorPagination):
    """The archive: last finished first (the archive index's order)."""

    ordering = ("-finished", "-pk")


class OldestFirstPagination(ViewflowCursorPagination):
    """A process's history: in the order it happened."""

    ordering = ("created", "pk")
