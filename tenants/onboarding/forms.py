"""Forms of the installer steps that are the wizard's own; credentials use each connector's form."""

from __future__ import annotations

from django import forms

from connectors.models import Environment
from connectors.registry import OTHER_SYSTEM_CHOICES


class SystemForm(forms.Form):
    system = forms.ChoiceField(
        label="Which system should HubSpot sync with?", choices=OTHER_SYSTEM_CHOICES, widget=forms.RadioSelect
    )
    environment = forms.ChoiceField(
        label="Which account will you connect first?",
        choices=Environment.choices,
        initial=Environment.SANDBOX,
        widget=forms.RadioSelect,
        help_text="Start with a sandbox to try the mappings safely; switch to production later in one guided step.",
    )


SCHEDULE_CHOICES = [(1, "1 minute"), (5, "5 minutes"), (15, "15 minutes"), (30, "30 minutes"), (60, "1 hour")]


class ObjectsForm(forms.Form):
    objects = forms.MultipleChoiceField(
        label="Objects to sync",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one object to sync."},
    )
    block_free_emails = forms.BooleanField(
        label="Free emails blocked",
        required=False,
        initial=True,
        help_text="Contacts with gmail.com, outlook.com, yahoo.com… addresses are not synced.",
    )
    test_mode = forms.BooleanField(
        label="Test mode",
        required=False,
        initial=True,
        help_text="Only records marked for testing sync: contacts whose e-mail contains “ss.test”, companies and "
        "deals whose name contains “SyncSmart”. Turn it off when the results look right.",
    )
    link_only = forms.BooleanField(
        label="Link existing records only",
        required=False,
        initial=True,
        help_text="Where HubSpot and the other system both already hold records of an object, the first sync links "
        "the records that match and creates nothing; after the preview you turn creation on per object.",
    )

    schedule_minutes = forms.TypedChoiceField(
        label="Sync every",
        choices=SCHEDULE_CHOICES,
        coerce=int,
        initial=5,
        required=False,
        empty_value=5,  # an installer page from before this choice existed keeps the old 5 minutes
        help_text="How often a scheduled sync runs. Changes in HubSpot that arrive by webhook sync within seconds anyway.",
    )

    def __init__(self, *args, object_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objects"].choices = object_choices


class WorkspaceForm(forms.Form):
    company_name = forms.CharField(label="Company name", max_length=200)
