"""Errors the engine raises; each message names the task or flow and what to do."""

__all__ = [
    "FlowError",
    "FlowRuntimeError",
    "FlowConflict",
    "FlowIllegalTransition",
    "FlowLockFailed",
    "FlowDefinitionError",
]


class FlowError(Exception):
    """Base class of every viewflow error."""


class FlowRuntimeError(FlowError):
    """An operation that the current state does not allow (e.g. doing a DONE task).

    The two kinds below tell apart whose fault it is; code that does not care
    catches this base.
    """


class FlowConflict(FlowRuntimeError):
    """Someone else changed the task or process meanwhile: the caller's view of it is stale.

    The REST API answers 409 Conflict, the site a message; reloading shows the
    new state, after which the operation may make sense again (or not).
    """


class FlowIllegalTransition(FlowRuntimeError):
    """The operation is not allowed in the state the task or process is in (the API's 400)."""


class FlowLockFailed(FlowError):
    """The process lock could not be taken in time; the caller may try again."""


class FlowDefinitionError(FlowError):
    """A flow class is declared wrongly (a dangling reference, a missing branch)."""
