"""The audit trail: the hash chain, its export and verification, and log masking."""
