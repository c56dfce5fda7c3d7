from __future__ import annotations

from django.apps import AppConfig


class MeasurementConfig(AppConfig):
    """Commands that measure Vouch (accuracy, speed, calibration, training) rather
    than run it; an app of their own so `manage.py help` lists them apart."""

    name = "reviewapp.measurement"
    label = "measurement"
    verbose_name = "Vouch measurement"
