"""Models of the shipment test flows: views of the mixins on models other than the process."""

from django.db import models

from viewflow.models import Process


class Shipment(models.Model):
    """What a start or task view creates or updates: not the process."""

    carrier = models.CharField(max_length=50, blank=True, default="")
    address = models.CharField(max_length=150, blank=True, default="")
    weight = models.PositiveIntegerField(default=0)
    fragile = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.carrier} to {self.address}"


class ShipmentItem(models.Model):
    """A line of a shipment, edited through an inline formset (foreign key to the shipment)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=50)
    quantity = models.PositiveIntegerField(default=1)

    def __str__(self):
        return self.name


class ShipmentProcess(Process):
    """The process: it points at its shipment."""

    shipment = models.ForeignKey(Shipment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(max_length=100, blank=True, default="")
    priority = models.PositiveIntegerField(default=0)


class ProcessNote(models.Model):
    """A line of the process itself, edited through an inline formset (foreign key to the process)."""

    process = models.ForeignKey(ShipmentProcess, on_delete=models.CASCADE, related_name="notes")
    text = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=1)

    def __str__(self):
        return self.text


class Audit(models.Model):
    """A row a view's own code writes beside the form (its ``activation_done`` or ``form_valid``)."""

    text = models.CharField(max_length=150)

    def __str__(self):
        return self.text
