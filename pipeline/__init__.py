"""Reading documents in plain Python, no Django: bytes in, frozen dataclasses out."""
