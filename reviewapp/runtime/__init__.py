"""Running Vouch locally: the process manager, a private Redis, the RQ worker."""
