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
    "reviewapp.review_document",
]
_SUPERVISOR_PERMISSIONS = [
    *_CLERK_PERMISSIONS,
    "reviewapp.view_all_documents",
    "reviewapp.handle_exceptions",
    "reviewapp.reveal_sensitive",
    "reviewapp.export_documents",
]

# Supervisors resolve vendor and PO exceptions, so they read the master data;
# admins maintain it (admin pages and `import_master_data`) and the rule switches.
_MASTER_DATA = ("vendor", "purchaseorder", "purchaseorderline", "goodsreceipt")
_VIEW_MASTER_DATA = [f"reviewapp.view_{model}" for model in _MASTER_DATA]
_MANAGE_MASTER_DATA = [
    f"reviewapp.{action}_{model}"
    for model in (*_MASTER_DATA, "validationrulesetting")
    for action in ("view", "add", "change", "delete")
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    CLERK: _CLERK_PERMISSIONS,
    SUPERVISOR: [*_SUPERVISOR_PERMISSIONS, *_VIEW_MASTER_DATA],
    ADMIN: [
        *_SUPERVISOR_PERMISSIONS,
        *_MANAGE_MASTER_DATA,
        "reviewapp.change_document",
        "reviewapp.delete_document",
        "reviewapp.view_processingrun",
        "reviewapp.view_sensitivefield",
        "reviewapp.add_sensitivefield",
        "reviewapp.change_sensitivefield",
        "reviewapp.delete_sensitivefield",
        "reviewapp.view_sensitivereveal",
        "reviewapp.view_fieldthreshold",
        "reviewapp.add_fieldthreshold",
        "reviewapp.change_fieldthreshold",
        "reviewapp.delete_fieldthreshold",
        "reviewapp.view_webhookendpoint",
        "reviewapp.add_webhookendpoint",
        "reviewapp.change_webhookendpoint",
        "reviewapp.delete_webhookendpoint",
        "reviewapp.view_webhookdelivery",
        "reviewapp.view_webhookattempt",
        "reviewapp.view_auditevent",
        "reviewapp.export_auditevent",
        # API tokens: seen (owner, last use) and revoked, never read or made here.
        "reviewapp.view_apitoken",
        "reviewapp.change_apitoken",
        # What reviewers' corrections taught: inspected and forgotten, not edited.
        "reviewapp.view_vendorfieldmemory",
        "reviewapp.delete_vendorfieldmemory",
        "reviewapp.view_retentionpolicy",
        "reviewapp.add_retentionpolicy",
        "reviewapp.change_retentionpolicy",
        "reviewapp.delete_retentionpolicy",
        "reviewapp.export_fieldcorrection",
        "reviewapp.view_extractorversion",
        "reviewapp.manage_extractor",
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
