"""An order to ship: the process, and its lines (edited as an inline formset)."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from viewflow.models import Process


class OrderProcess(Process):
    customer = models.CharField(max_length=150)
    address = models.TextField()
    express = models.BooleanField(default=False, help_text="Deliver by courier tomorrow.")
    prepaid = models.BooleanField(default=True, help_text="Paid by card when ordering.")
    payment_reference = models.CharField(max_length=64, blank=True, default="")
    weight_kg = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Weight of the parcel.",
    )
    carrier = models.CharField(max_length=50, blank=True, default="")
    tracking_number = models.CharField(max_length=64, blank=True, default="")
    delivered = models.BooleanField(default=False)

    class Meta:
        verbose_name = "order"


class OrderLine(models.Model):
    order = models.ForeignKey(OrderProcess, on_delete=models.CASCADE, related_name="lines")
    product = models.CharField(max_length=150)
    quantity = models.PositiveIntegerField(default=1)
    reserved = models.BooleanField(default=False)
    packed = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.quantity} × {self.product}"


class WholesaleProcess(Process):
    """A wholesale order shipped from several warehouses: one parcel (a child process) per warehouse."""

    customer = models.CharField(max_length=150)
    warehouses = models.CharField(max_length=200, help_text="Comma-separated, e.g. Berlin, Hamburg.")
    shipped = models.BooleanField(default=False)

    class Meta:
        verbose_name = "wholesale order"

    def warehouse_list(self):
        return [name.strip() for name in self.warehouses.split(",") if name.strip()]


class ParcelProcess(Process):
    """One warehouse's parcel of a wholesale order (started by its ``ship_parcels`` task)."""

    warehouse = models.CharField(max_length=100)
    tracking_number = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = "parcel"
