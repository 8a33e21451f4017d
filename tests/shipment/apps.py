from django.apps import AppConfig


class ShipmentConfig(AppConfig):
    name = "tests.shipment"
    label = "shipment"
    default_auto_field = "django.db.models.BigAutoField"
