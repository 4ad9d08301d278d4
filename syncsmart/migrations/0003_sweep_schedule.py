"""The sweep runs every minute on every installation: it re-queues runs and webhook inbox
items a dead worker left behind (the Redis broker keeps no delivery receipts)."""

from django.db import migrations

SWEEP = "syncsmart-sweep"


def add_sweep(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=SWEEP, defaults={"func": "syncsmart.tasks.sweep", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def remove_sweep(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("syncsmart", "0002_pending_create"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_sweep, remove_sweep)]
