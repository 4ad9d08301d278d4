from django.db import migrations, models

from mappings.match_rules import default_rules, legacy_rules


def fill_match_rules(apps, schema_editor):
    """Existing mappings get their pair's default keys, or their one match field pair."""
    ObjectMapping = apps.get_model("mappings", "ObjectMapping")
    for mapping in ObjectMapping.objects.select_related("integration__other_connection").filter(match_rules=[]):
        system = mapping.integration.other_connection.system
        rules = default_rules(system, mapping.hubspot_object, mapping.other_object) if mapping.is_default else []
        if not rules:
            rules = [k.as_dict() for k in legacy_rules(mapping.hubspot_match_field, mapping.other_match_field)]
        if rules:
            mapping.match_rules = rules
            mapping.save(update_fields=["match_rules"])


class Migration(migrations.Migration):
    dependencies = [("mappings", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="objectmapping",
            name="match_rules",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(fill_match_rules, migrations.RunPython.noop),
    ]
