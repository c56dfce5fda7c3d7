"""Per-installation secrets kept in the var directory of a development checkout.

`make run` writes them once; settings read them when the environment does not
set SECRET_KEY or VOUCH_AUDIT_KEY, so `python manage.py evaluate ...` works in a
checkout where `make run` has run. Production sets both in the environment, and
settings refuse to start when neither the environment nor these files have them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name, not a secret)
AUDIT_KEY_FILE = "audit_key"


def stored_secret(var_dir: Path, name: str) -> str | None:
    """The stored secret, or None when this installation has none."""
    path = var_dir / name
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    return value or None


def ensure_secret(var_dir: Path, name: str) -> str:
    """The stored secret, made (random, readable by its owner only) if missing:
    sessions and audit secrets survive restarts, and no two installations share
    a key."""
    existing = stored_secret(var_dir, name)
    if existing is not None:
        return existing
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / name
    path.write_text(secrets.token_urlsafe(50))
    path.chmod(0o600)
    return path.read_text().strip()
