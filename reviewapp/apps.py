from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReviewappConfig(AppConfig):
    name = "reviewapp"
    verbose_name = "Vouch review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import signals as auth_signals

        from reviewapp import (
            audit,
            checks,  # noqa: F401  (registers the system checks)
        )

        post_migrate.connect(sync_roles_after_migrate, sender=self)
        # Django announces sign-ins only through these signals.
        auth_signals.user_logged_in.connect(
            audit.on_user_logged_in, dispatch_uid="vouch-audit-login"
        )
        auth_signals.user_logged_out.connect(
            audit.on_user_logged_out, dispatch_uid="vouch-audit-logout"
        )
        auth_signals.user_login_failed.connect(
            audit.on_user_login_failed, dispatch_uid="vouch-audit-login-failed"
        )


def sync_roles_after_migrate(using: str = "default", **kwargs: Any) -> None:
    """Give the role groups exactly the permissions `roles.ROLE_PERMISSIONS`
    lists, after every migrate: a permission added to a role in code reaches
    existing installations without a data migration per change."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from reviewapp.roles import sync_roles

    # Other apps' post_migrate handlers may not have run yet; creating their
    # permissions here is idempotent and makes the order irrelevant.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_roles(Group, Permission)
