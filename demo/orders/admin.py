from django.contrib import admin

from viewflow.admin import ProcessAdmin

from .models import OrderLine, OrderProcess


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0


@admin.register(OrderProcess)
class OrderAdmin(ProcessAdmin):
    list_display = ("id", "customer", "status", "carrier", "tracking_number", "created")
    search_fields = ("customer", "tracking_number")  # and numbers: ProcessAdmin looks those up by key
    inlines = (OrderLineInline, *ProcessAdmin.inlines)
