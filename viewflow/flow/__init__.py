"""The nodes a flow is declared with, and the decorators for their callbacks."""

from .base import Edge, Event, Gateway, Node, Task, WaitingTask
from .decorators import flow_func, flow_signal, flow_start_func, flow_start_signal
from .end import End
from .func import Function, Handler
from .gateway import If, Join, Split, Switch
from .job import flow_job
from .signal import Signal
from .start import Start, StartFunction, StartSignal
from .subprocess import NSubprocess, Subprocess
from .timer import Deadline, StartTimer, Timer
from .view import View


def __getattr__(name):
    # the view decorators live with the views; imported on first use so that
    # importing viewflow.flow does not pull in the web side
    if name in ("flow_view", "flow_start_view"):
        from ..views import decorators

        return getattr(decorators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Start",
    "StartFunction",
    "StartSignal",
    "StartTimer",
    "Timer",
    "Deadline",
    "View",
    "If",
    "Switch",
    "Split",
    "Join",
    "Handler",
    "Function",
    "Signal",
    "Subprocess",
    "NSubprocess",
    "End",
    "Node",
    "Event",
    "Task",
    "WaitingTask",
    "Gateway",
    "Edge",
    "flow_job",
    "flow_func",
    "flow_signal",
    "flow_start_func",
    "flow_start_signal",
    "flow_view",
    "flow_start_view",
]
