"""Every non-trivial read of Vouch's data, one module per domain."""
