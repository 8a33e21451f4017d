"""Create the demo users and print how to log in."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError

USERS = {
    # username: (password, superuser, permission codenames)
    "admin": ("admin", True, []),
    "starter": ("starter", False, ["can_start_helloworldprocess", "view_helloworldprocess"]),
    "approver": ("approver", False, ["can_approve_helloworldprocess", "view_helloworldprocess"]),
    # order shipment
    "clerk": (
        "clerk",
        False,
        ["can_start_orderprocess", "can_confirm_orderprocess", "view_orderprocess", "can_start_wholesaleprocess"],
    ),
    "packer": (
        "packer",
        False,
        [
            "can_package_orderprocess",
            "can_courier_orderprocess",
            "can_freight_orderprocess",
            "view_orderprocess",
            "can_ship_parcelprocess",
        ],
    ),
    # leave approval
    "employee": ("employee", False, ["can_start_leaveprocess", "view_leaveprocess"]),
    "manager": ("manager", False, ["can_manager_approval_leaveprocess", "view_leaveprocess"]),
    "director": ("director", False, ["can_director_approval_leaveprocess", "view_leaveprocess"]),
}


class Command(BaseCommand):
    help = "Create (or reset) the demo users of every demo flow (password = username)."

    def handle(self, *args, **options):
        User = get_user_model()
        for username, (password, superuser, codenames) in USERS.items():
            user, _created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = superuser
            user.set_password(password)
            user.save()
            permissions = list(Permission.objects.filter(codename__in=codenames))
            missing = set(codenames) - {permission.codename for permission in permissions}
            if missing:
                raise CommandError(f"Missing permissions {sorted(missing)}: run manage.py migrate first.")
            user.user_permissions.set(permissions)
        self.stdout.write("Demo users (username / password):")
        for username, (password, superuser, _codenames) in USERS.items():
            role = "superuser" if superuser else ", ".join(_codenames)
            self.stdout.write(f"  {username} / {password}   ({role})")
        self.stdout.write("Open http://127.0.0.1:8000/flows/")
