"""A REST API for everything the site does (DESIGN.md §12): ``pip install viewflow[rest]``.

Add ``"viewflow.contrib.rest"`` (and ``rest_framework``, ``drf_spectacular``,
``drf_spectacular_sidecar``) to ``INSTALLED_APPS`` and
``path("api/", include("viewflow.contrib.rest.urls"))`` to the URLs. See
docs/rest.md.
"""
