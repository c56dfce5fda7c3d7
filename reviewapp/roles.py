"""The roles Vouch ships with: Django groups and the permissions each holds.

Object-level rules (whose document) live in `permissions`; this module only says
which model permissions each role carries.
"""

from __future__ import annotations

from typing import Any

CLERK = "clerk"
SUPERVISOR = "supervisor"
ADMIN = "admin"

_CLERK_PERMISSIONS = [
    "reviewapp.view_document",
    "reviewapp.add_document",
    "reviewapp.view_field",
    "reviewapp.change_field",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    CLERK: _CLERK_PERMISSIONS,
    SUPERVISOR: [*_CLERK_PERMISSIONS, "reviewapp.view_all_documents"],
    ADMIN: [
        *_CLERK_PERMISSIONS,
        "reviewapp.view_all_documents",
        "reviewapp.change_document",
        "reviewapp.delete_document",
        "reviewapp.view_processingrun",
        "reviewapp.view_auditevent",
        "reviewapp.export_auditevent",
        "reviewapp.reveal_sensitive",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "auth.change_group",
    ],
}


def sync_roles(group_model: Any, permission_model: Any) -> None:
    """Create the role groups and give each exactly its permissions.

    Takes the model classes so the data migration can pass its historical models.
    Permissions must exist already (see the migration).
    """
    for role, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        permissions = []
        for dotted in dotted_names:
            app_label, codename = dotted.split(".")
            permissions.append(
                permission_model.objects.get(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(permissions)
