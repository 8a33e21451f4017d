"""Errors the engine raises; each message names the task or flow and what to do."""

__all__ = ["FlowError", "FlowRuntimeError", "FlowLockFailed", "FlowDefinitionError"]


class FlowError(Exception):
    """Base class of every viewflow error."""


class FlowRuntimeError(FlowError):
    """An operation that the current state does not allow (e.g. doing a DONE task)."""


class FlowLockFailed(FlowError):
    """The process lock could not be taken in time; the caller may try again."""


class FlowDefinitionError(FlowError):
    """A flow class is declared wrongly (a dangling reference, a missing branch)."""
