"""The path of every audit event: channel, API key, request id and origin (salesops.audit_context).

Events recorded before this keep an empty channel — their path was never known, and
calling them "system" would say something false. New events default to the context."""

import django.db.models.deletion
from django.db import migrations, models

import salesops.audit_context

CHANNELS = [
    ("page", "Page"),
    ("api", "API (signed in)"),
    ("api_key", "API key"),
    ("import", "Import"),
    ("task", "Background task"),
    ("command", "Command"),
    ("system", "System"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("salesops", "0009_user_session_generation"),
    ]

    operations = [
        # Constant defaults for the rows there are (PostgreSQL stores them without
        # rewriting the table), then the context's defaults for new rows.
        migrations.AddField(
            model_name="auditevent",
            name="channel",
            field=models.CharField(choices=CHANNELS, default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="channel",
            field=models.CharField(
                choices=CHANNELS,
                default=salesops.audit_context.current_channel,
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="api_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="salesops.apikey",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="api_key",
            field=models.ForeignKey(
                blank=True,
                default=salesops.audit_context.current_api_key_id,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="salesops.apikey",
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="request_id",
            field=models.CharField(blank=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="request_id",
            field=models.CharField(
                blank=True, default=salesops.audit_context.current_request_id, max_length=64
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="origin",
            field=models.CharField(blank=True, default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="origin",
            field=models.CharField(
                blank=True, default=salesops.audit_context.current_origin, max_length=200
            ),
        ),
    ]
