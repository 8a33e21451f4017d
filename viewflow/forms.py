"""Forms the site's pages and the admin share."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .permissions import assignable_users

__all__ = ["ReassignForm", "DueForm"]


class ReassignForm(forms.Form):
    """Whom to give one task or several tasks to: the active users who may do them all (:func:`assignable_users`)."""

    user = forms.ModelChoiceField(queryset=get_user_model()._default_manager.none(), label=_("Assign to"))

    def __init__(self, *args, tasks=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = assignable_users(tasks)


class DueForm(forms.Form):
    """A task's new due time, in the current time zone (the site's page and the admin's action)."""

    due = forms.DateTimeField(
        label=_("Due"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("A timer fires at this time; a person's task shows it."),
    )
