from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_migrate, post_save, pre_save


class ReviewappConfig(AppConfig):
    name = "reviewapp"
    verbose_name = "Vouch review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth import signals as auth_signals

        from reviewapp import checks  # noqa: F401  (registers the system checks)
        from reviewapp.audit.account_events import (
            on_user_groups_changed,
            on_user_logged_in,
            on_user_logged_out,
            on_user_login_failed,
            on_user_post_save,
            on_user_pre_save,
        )

        post_migrate.connect(sync_roles_after_migrate, sender=self)
        # Django announces sign-ins only through these signals.
        auth_signals.user_logged_in.connect(
            on_user_logged_in, dispatch_uid="vouch-audit-login"
        )
        auth_signals.user_logged_out.connect(
            on_user_logged_out, dispatch_uid="vouch-audit-logout"
        )
        auth_signals.user_login_failed.connect(
            on_user_login_failed, dispatch_uid="vouch-audit-login-failed"
        )
        # Users and their roles change through the admin site and commands we
        # do not own; model signals are the one place all of them pass.
        user_model = get_user_model()
        pre_save.connect(
            on_user_pre_save, sender=user_model, dispatch_uid="vouch-audit-user"
        )
        post_save.connect(
            on_user_post_save, sender=user_model, dispatch_uid="vouch-audit-user"
        )
        m2m_changed.connect(
            on_user_groups_changed,
            sender=user_model.groups.through,
            dispatch_uid="vouch-audit-roles",
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
