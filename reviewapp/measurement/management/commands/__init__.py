"""Measurement commands, one module each (Django finds them by file name)."""
