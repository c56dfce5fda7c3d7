# Joins this session's parallel branches (line items, vendor memory and
# retention, extractor versions, field corrections) and gives the audit event
# types their final list, which each branch extended on its own.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reviewapp", "0012_line_items"),
        ("reviewapp", "0013_vendor_memory_retention"),
        ("reviewapp", "0014_extractor_versions"),
        ("reviewapp", "0015_field_corrections"),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='event_type',
            field=models.CharField(choices=[('login', 'Logged in'), ('logout', 'Logged out'), ('login_failed', 'Failed login'), ('document_ingested', 'Document received'), ('document_downloaded', 'Original downloaded'), ('documents_exported', 'Approved data exported'), ('document_marked_exported', 'Marked exported'), ('document_retry', 'Retry requested'), ('document_reprocess', 'Reprocess requested'), ('document_requeued', 'Requeued after a lost job'), ('job_started', 'Processing started'), ('job_finished', 'Processing finished'), ('job_failed', 'Processing failed'), ('field_changed', 'Field changed'), ('line_items_changed', 'Line items changed'), ('document_claimed', 'Claimed for review'), ('document_released', 'Released'), ('document_approved', 'Approved'), ('document_rejected', 'Rejected'), ('document_escalated', 'Escalated'), ('sensitive_revealed', 'Sensitive value revealed'), ('audit_exported', 'Audit log exported'), ('settings_changed', 'Settings changed'), ('user_changed', 'User changed'), ('role_changed', 'Role changed'), ('model_trained', 'Model trained'), ('model_promoted', 'Model promoted'), ('vendor_memory_learned', 'Vendor memory learned'), ('vendor_memory_deleted', 'Vendor memory deleted'), ('document_purged', 'Document purged (retention)'), ('training_exported', 'Training data exported'), ('model_rejected', 'Model rejected'), ('model_rolled_back', 'Model rolled back')], db_index=True, max_length=50),
        ),
    ]
