"""How passwords are kept."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at the first of OWASP's equally strong settings (Password Storage
    Cheat Sheet: 46 MiB of memory, one pass, one lane).

    Django's default (100 MiB, two passes, eight lanes) costs 0.2 s of CPU per
    sign-in: on two cores, twenty people signing in within a minute queue behind
    each other's hashes. These settings cost 0.05 s on one core and still make
    each guess take 46 MiB of memory, which is what defeats GPU cracking.
    Django rewrites a hash made with other settings at that person's next
    sign-in (`must_update`).
    """

    time_cost = 1
    memory_cost = 47104  # KiB
    parallelism = 1
