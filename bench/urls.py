"""URLs as in DESIGN §1: every registered flow under /flows/; plus the framework floor's bench-only view."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.urls import include, path

from viewflow.site import viewsite


@login_required
def floor(request, step):
    """What a Django view pays with no workflow engine: session, user, a permission check, a redirect.

    ``hello_http[floor]`` POSTs here where hello_http POSTs the start, claim and
    approve URLs; the permission is checked with Django's own ``user.has_perm``.
    """
    permission = {
        "start": "helloworld.can_start_helloworldprocess",
        "assign": "helloworld.can_approve_helloworldprocess",
    }
    if step in permission and not request.user.has_perm(permission[step]):
        return HttpResponseRedirect("/denied/")
    return HttpResponseRedirect("/flows/")


urlpatterns = [
    path("flows/", include(viewsite.urls)),
    path("api/", include("viewflow.contrib.rest.urls")),
    path("bench-floor/<str:step>/", floor),
]
