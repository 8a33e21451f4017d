"""Create the demo users and print how to log in."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand

USERS = {
    # username: (password, superuser, permission codenames)
    "admin": ("admin", True, []),
    "starter": ("starter", False, ["can_start_helloworldprocess", "view_helloworldprocess"]),
    "approver": ("approver", False, ["can_approve_helloworldprocess", "view_helloworldprocess"]),
}


class Command(BaseCommand):
    help = "Create (or reset) the demo users admin, starter and approver."

    def handle(self, *args, **options):
        User = get_user_model()
        for username, (password, superuser, codenames) in USERS.items():
            user, _created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = superuser
            user.set_password(password)
            user.save()
            user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        self.stdout.write("Demo users (username / password):")
        for username, (password, superuser, _codenames) in USERS.items():
            role = "superuser" if superuser else ", ".join(_codenames)
            self.stdout.write(f"  {username} / {password}   ({role})")
        self.stdout.write("Open http://127.0.0.1:8000/flows/")
