"""Issue, list or revoke a user's API tokens (for an ERP or a script)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviewapp.models.api_tokens import ApiToken
from reviewapp.services.api_tokens import token_issue, token_revoke


class Command(BaseCommand):
    help = (
        "Issue a new API token for USERNAME and print its key (shown only now); "
        "--list shows their tokens with last use; --revoke PREFIX revokes one; "
        "--rotate revokes all of theirs and issues a new one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")
        parser.add_argument("--list", action="store_true")
        parser.add_argument("--revoke", metavar="PREFIX")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Revoke the user's tokens and issue a new one.",
        )

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user called {username!r}.") from None
        tokens = ApiToken.objects.filter(owner=user, revoked_at=None)
        if options["list"]:
            for token in ApiToken.objects.filter(owner=user):
                state = (
                    f"revoked {token.revoked_at:%Y-%m-%d}"
                    if token.revoked_at
                    else "active"
                )
                used = (
                    f"{token.last_used_at:%Y-%m-%d %H:%M}"
                    if token.last_used_at
                    else "never"
                )
                self.stdout.write(
                    f"{token.prefix}…  {state:<18} last used {used}  {token.name}"
                )
            return
        if options["revoke"]:
            matching = list(tokens.filter(prefix__startswith=options["revoke"]))
            if len(matching) != 1:
                raise CommandError(f"{len(matching)} active tokens start with that.")
            token_revoke(token=matching[0], by=None)
            self.stdout.write(f"revoked {matching[0].prefix}…")
            return
        if not user.is_active:
            raise CommandError(f"{username} is inactive; activate the user first.")
        if options["rotate"]:
            for token in tokens:
                token_revoke(token=token, by=None)
        _, key = token_issue(owner=user, name=options["name"])
        self.stdout.write(key)
