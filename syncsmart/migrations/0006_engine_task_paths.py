"""The q2 task functions moved from syncsmart.tasks to syncsmart.engine.tasks: stored schedules
name the new paths. (A task already in the broker under an old path fails to import; its run row
stays queued and the sweep queues it again within a minute.)"""

from django.db import migrations

MOVES = {
    "syncsmart.tasks.sweep": "syncsmart.engine.tasks.sweep",
    "syncsmart.tasks.scheduled_run": "syncsmart.engine.tasks.scheduled_run",
    "syncsmart.tasks.execute_run": "syncsmart.engine.tasks.execute_run",
}


def rename(moves):
    def apply(apps, schema_editor):
        Schedule = apps.get_model("django_q", "Schedule")
        for old, new in moves.items():
            Schedule.objects.filter(func=old).update(func=new)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("syncsmart", "0005_worker_heartbeat"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(rename(MOVES), rename({new: old for old, new in MOVES.items()}))]
