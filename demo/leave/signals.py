"""Signals of the leave app."""

from django.dispatch import Signal

#: sent with ``process=`` and ``returned_on=`` when an employee is back at work
employee_returned = Signal()
