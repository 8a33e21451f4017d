"""The demo project: the Hello World flow of DESIGN.md and friends."""

from .celery import app as celery_app

__all__ = ["celery_app"]
