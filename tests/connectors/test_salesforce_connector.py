"""Salesforce connector behaviour beyond the shared contract: sessions and reconnects, the daily
budget from Sforce-Limit-Info, the SystemModstamp keyset with its overlap, deletions, duplicates,
leads and users."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.base import ErrorKind, FieldType, WriteInput
from connectors.salesforce.connector import DailyBudget, SalesforceConnector
from connectors.salesforce.emulator import DEFAULT_CONSUMER_KEY, DEFAULT_USERNAME, SalesforceEmulator
from connectors.salesforce.forms import SalesforceCredentialsForm
from tests.connectors.hubspot_harness import fast_retry
from tests.connectors.salesforce_harness import IN_PROCESS_BASE, salesforce_connector
from tests.factories import NoLimit


@pytest.fixture
def emulator() -> SalesforceEmulator:
    return SalesforceEmulator(limits=False)


@pytest.fixture
def connector(emulator):
    connector = salesforce_connector(emulator, IN_PROCESS_BASE, emulator.transport())
    yield connector
    connector.close()


def read_pass(connector, object_type, cursor, page_size=None):
    records, pages = [], 0
    while True:
        page = connector.read_changes(object_type, cursor, page_size)
        records += page.records
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            return records, cursor, pages


def test_an_expired_session_is_renewed_with_the_refresh_token_once(emulator):
    renewed = []
    connector = salesforce_connector(emulator, IN_PROCESS_BASE, emulator.transport(), on_session=renewed.append)
    record_id = emulator.create_record("Contact", {"LastName": "Renewed"})
    emulator.expire_sessions()
    assert [r.id for r in connector.read_by_ids("Contact", [record_id])] == [record_id]
    assert len(renewed) == 1 and renewed[0].access_token and renewed[0].refresh_token
    assert emulator.counters()["calls"].get("POST oauth2/token") == 1


def test_a_revoked_refresh_token_is_a_permanent_reconnect_needed(emulator):
    reconnect = []
    connector = salesforce_connector(emulator, IN_PROCESS_BASE, emulator.transport(), on_reconnect_needed=reconnect.append)
    emulator.revoke_refresh_tokens()
    with pytest.raises(Exception) as caught:
        connector.read_by_ids("Contact", ["0035g0000000001AAA"])
    assert caught.value.kind == ErrorKind.AUTH and not caught.value.retryable
    assert caught.value.vendor_code == "invalid_grant"
    assert reconnect and "reconnect" in reconnect[0].lower()
    assert not connector.test_connection().ok


def test_the_jwt_bearer_flow_signs_in_without_a_refresh_token(emulator):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    emulator.register_jwt_certificate(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    connector = SalesforceConnector(
        IN_PROCESS_BASE,
        client_id=DEFAULT_CONSUMER_KEY,
        username=DEFAULT_USERNAME,
        private_key=pem,
        login_url=IN_PROCESS_BASE,
        transport=emulator.transport(),
        retry=fast_retry(),
        limiter=NoLimit(),
    )
    result = connector.test_connection()
    assert result.ok, result.message
    assert "production org" in result.message and DEFAULT_USERNAME in result.message


def test_the_daily_allowance_comes_from_sforce_limit_info_and_stops_calls_at_the_limit(emulator, connector):
    emulator.daily_limit = 12
    connector.discover_fields("Contact")
    assert connector.budget.daily == 12 and connector.budget.used == emulator.api_usage
    emulator.api_usage = 12  # other apps of the org spent the rest of today's allowance
    connector.read_by_ids("Contact", ["0035g0000000001AAA"])  # the answer reports 13/12 ...
    before = emulator.counters()["total"]
    with pytest.raises(Exception) as caught:
        connector.read_by_ids("Contact", ["0035g0000000001AAA"])  # ... so the next call never leaves
    assert caught.value.kind == ErrorKind.RATE_LIMITED and caught.value.retry_after > 0
    assert emulator.counters()["total"] == before


def test_daily_budget_follows_a_changed_allowance():
    made = []
    budget = DailyBudget("org", 100, shared=lambda org, daily: made.append(daily) or object())

    class Answer:
        headers = {"Sforce-Limit-Info": "api-usage=7/15000"}

    budget.observe(Answer())
    assert (budget.used, budget.daily, made) == (7, 15000, [100, 15000])


def test_records_sharing_one_second_are_paged_by_id_without_gaps_or_repeats(emulator, connector):
    ids = {emulator.create_record("Contact", {"LastName": f"Same second {n}"}) for n in range(7)}
    records, _, pages = read_pass(connector, "Contact", None, page_size=3)
    assert [r.id for r in records if r.id in ids] == sorted(ids, key=lambda i: i.lower())
    assert pages >= 3


def test_a_change_committed_late_inside_the_overlap_is_read_by_the_next_pass(emulator, connector):
    emulator.create_record("Contact", {"LastName": "Early"})
    _, cursor, _ = read_pass(connector, "Contact", None)
    emulator.advance(-10)  # a transaction that began 10 s ago commits now: its SystemModstamp is in the past
    late = emulator.create_record("Contact", {"LastName": "Late"})
    emulator.advance(10)
    records, _, _ = read_pass(connector, "Contact", cursor)
    assert late in {r.id for r in records}


def test_older_versions_are_not_read_again_once_the_overlap_has_passed(emulator, connector):
    emulator.advance(-120)
    old = emulator.create_record("Contact", {"LastName": "Old"})
    emulator.advance(120)
    _, cursor, _ = read_pass(connector, "Contact", None)
    records, cursor, _ = read_pass(connector, "Contact", cursor)
    assert old not in {r.id for r in records}


def test_deleted_records_arrive_as_deleted(emulator, connector):
    record_id = emulator.create_record("Contact", {"LastName": "Doomed"})
    _, cursor, _ = read_pass(connector, "Contact", None)
    emulator.delete_record("Contact", record_id)
    records, _, _ = read_pass(connector, "Contact", cursor)
    assert [r.deleted for r in records if r.id == record_id] == [True]


def test_a_duplicate_rule_refusal_is_a_conflict_naming_the_existing_record():
    emulator = SalesforceEmulator(limits=False, duplicate_rules=("Lead",))
    existing = emulator.create_record("Lead", {"LastName": "A", "Company": "C", "Email": "dup@example.com"})
    connector = salesforce_connector(emulator, IN_PROCESS_BASE, emulator.transport())
    [result] = connector.create("Lead", [WriteInput({"LastName": "B", "Company": "C", "Email": "DUP@example.com"}, ref="r")])
    assert result.error.kind == ErrorKind.CONFLICT and result.error.existing_id == existing
    assert result.error.vendor_code == "DUPLICATES_DETECTED"


def test_leads_carry_their_conversion_read_only_and_users_are_owners(emulator, connector):
    fields = {f.name: f for f in connector.discover_fields("Lead")}
    assert fields["ConvertedContactId"].read_only and fields["ConvertedContactId"].reference_to == "Contact"
    assert fields["OwnerId"].type == FieldType.OWNER and fields["OwnerId"].reference_to == "User"
    assert {o.value for o in fields["Status"].options} >= {"Open - Not Contacted", "Closed - Converted"}
    lead = emulator.create_record("Lead", {"LastName": "Q", "Company": "Harbor", "Email": "q@harbor.example.com"})
    made = emulator.convert_lead(lead)
    [record] = connector.read_by_ids("Lead", [lead])
    assert record.properties["IsConverted"] is True and record.properties["ConvertedContactId"] == made["contact"]
    users = connector.object_type("User")
    assert users.read_only and users.email_field == "Email"
    found = connector.find_by("User", "Email", [DEFAULT_USERNAME.upper()])
    assert [r.id for r in found[DEFAULT_USERNAME]] == [emulator.integration_user]


def test_accounts_are_found_by_website_domain(emulator, connector):
    acme = emulator.create_record("Account", {"Name": "Acme", "Website": "https://www.Acme.example.com/about"})
    emulator.create_record("Account", {"Name": "Not Acme", "Website": "https://notacme.example.com"})
    found = connector.find_by("Account", "Website", ["acme.example.com"])
    assert [r.id for r in found["acme.example.com"]] == [acme]


def test_values_are_written_in_salesforce_types(emulator, connector):
    account = emulator.create_record("Account", {"Name": "Typed"})
    [result] = connector.create(
        "Opportunity",
        [
            WriteInput(
                {
                    "Name": "Deal",
                    "StageName": "Qualification",
                    "CloseDate": "2027-03-01",
                    "Amount": "1,250.50",
                    "AccountId": account,
                }
            )
        ],
    )
    assert result.ok, result.error
    row = emulator.record("Opportunity", result.id)
    assert row["Amount"] == 1250.5 and str(row["CloseDate"]) == "2027-03-01" and row["AccountId"] == account


@pytest.mark.slow
def test_connector_over_https_trusting_the_emulator_ca(emulator, tmp_path):
    ca_file = tmp_path / "ca.pem"
    running = emulator.serve("127.0.0.1", 0, tls=True, ca_file=ca_file)
    try:
        connector = salesforce_connector(emulator, running.base_url, None, verify=str(ca_file))
        try:
            assert connector.test_connection().ok
            emulator.create_record("Contact", {"LastName": "Secure", "Email": "secure@example.com"})
            assert len(connector.find_by("Contact", "Email", ["SECURE@example.com"])["secure@example.com"]) == 1
        finally:
            connector.close()
    finally:
        running.stop()


def test_the_jwt_credential_form_signs_in_and_explains_a_bad_key(emulator):
    config, credentials = emulator.connection_settings(IN_PROCESS_BASE)
    data = {"client_id": config["client_id"], "username": config["username"], "private_key": credentials["private_key"]}
    form = SalesforceCredentialsForm(data=data)
    assert form.is_valid(), form.errors
    # No login URL typed: production's login.salesforce.com (answered here by the emulator's transport).
    good = form.test_connection(transport=emulator.transport(), retry=fast_retry(), limiter=NoLimit())
    assert good.ok and "production org" in good.message, good.message
    assert "login_url" in SalesforceCredentialsForm(data={**data, "login_url": "https://evil.example.com"}).errors
    bad = SalesforceCredentialsForm(data={**data, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"})
    assert bad.is_valid(), bad.errors
    result = bad.test_connection(transport=emulator.transport(), retry=fast_retry(), limiter=NoLimit())
    assert not result.ok and "private key cannot be read" in result.message and "AAAA" not in result.message
