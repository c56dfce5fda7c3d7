"""Views: thin HTTP adapters, one module per domain."""
