"""Joins migrations written in parallel; each touches different tables."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviewapp", "0003_audit"),
        ("reviewapp", "0004_review_workflow"),
        ("reviewapp", "0005_master_data"),
        ("reviewapp", "0007_webhooks"),
    ]

    operations = []
