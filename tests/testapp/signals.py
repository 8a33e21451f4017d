"""Django signals the test flows listen to."""

from django.dispatch import Signal

#: sent with ``text=...``: starts a SignalFlow process
order_placed = Signal()
#: sent with ``process_pk=..., amount=...``: the SignalFlow process waiting for it goes on
order_paid = Signal()
