from django.contrib import admin

from viewflow.admin import ProcessAdmin

from .models import HelloWorldProcess

admin.site.register(HelloWorldProcess, ProcessAdmin)
