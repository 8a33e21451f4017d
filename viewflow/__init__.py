"""viewflow: business processes for Django, declared once as a flow class."""

__version__ = "0.1.0"
