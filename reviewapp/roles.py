"""The roles Vouch ships with: Django groups and the permissions each holds.

Object-level rules (whose document) live in `permissions`; this module only says
which model permissions each role carries.
"""

from __future__ import annotations

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
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "auth.change_group",
    ],
}
