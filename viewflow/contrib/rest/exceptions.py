"""The engine's refusals as HTTP answers.

==================================== ======================================
raised                               answer
==================================== ======================================
:class:`~viewflow.exceptions.FlowConflict`          409: someone else changed it meanwhile
:class:`~viewflow.exceptions.FlowIllegalTransition` 400, or 409 when the task's status is no
                                     longer one the operation applies to
                                     (it was done, claimed, canceled meanwhile)
:class:`~viewflow.exceptions.FlowLockFailed`        503: try again
``PermissionDenied``                 403
``Http404``, a task or process that  404
is not there
==================================== ======================================
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException

from viewflow.exceptions import FlowConflict, FlowIllegalTransition, FlowLockFailed

__all__ = ["Conflict", "IllegalTransition", "LockBusy", "api_exception"]


class Conflict(APIException):
    """409: the task or process was changed by someone else; reload it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The task was changed by someone else meanwhile.")
    default_code = "conflict"


class IllegalTransition(APIException):
    """400: the operation is not allowed for this task as it is."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The operation is not allowed for this task.")
    default_code = "illegal_transition"


class LockBusy(APIException):
    """503: the process is locked by a long step; the request may be sent again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The process is busy; try again.")
    default_code = "lock_failed"


def api_exception(exc, current_status=None, valid_statuses=None):
    """The API's exception for an engine error, or None when ``exc`` is not one.

    ``current_status`` is the task's (or process's) status read after the
    refusal, ``valid_statuses`` those the operation applies to: an illegal
    transition from a status the operation does not apply to is a conflict
    (the client saw the task before it changed).
    """
    if isinstance(exc, FlowConflict):
        return Conflict(str(exc))
    if isinstance(exc, FlowIllegalTransition):
        if valid_statuses is not None and current_status not in valid_statuses:
            return Conflict(str(exc))
        return IllegalTransition(str(exc))
    if isinstance(exc, FlowLockFailed):
        return LockBusy(str(exc))
    return None
