"""`manage.py sync` runs one pass in the foreground and prints the counts as JSON."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import NoLimit

pytestmark = pytest.mark.django_db


@pytest.fixture
def unlimited(monkeypatch):
    monkeypatch.setattr("connectors.hubspot.limits.hubspot_limiter", lambda *a, **k: NoLimit())


def run_command(*args):
    out = StringIO()
    call_command("sync", *args, stdout=out)
    return json.loads(out.getvalue())


def test_sync_command_prints_counts_as_json(cw_pair, unlimited):
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    result = run_command(str(cw_pair.integration.pk))
    assert result["status"] == "succeeded"
    assert result["counts"]["created"] == 2
    again = run_command(str(cw_pair.integration.pk), "--historical")
    assert again["counts"].get("created", 0) == 0
    assert again["counts"]["echo"] + again["counts"].get("unchanged", 0) >= 2


def test_sync_command_for_one_object(cw_pair, unlimited):
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    result = run_command(str(cw_pair.integration.pk), "--object", "companies")
    assert result["counts"]["created"] == 1
    assert cw_pair.hubspot.count("contacts") == 0


def test_sync_command_refuses_unknown_integration_and_object(cw_pair):
    with pytest.raises(CommandError, match="No integration"):
        run_command("999999")
    with pytest.raises(CommandError, match="no object mapping"):
        run_command(str(cw_pair.integration.pk), "--object", "tickets")
