"""Faults at 20% (429, 5xx, timeouts, dropped connections, some after the write took effect) on
both emulators: the sync converges, nothing is duplicated, and the next run writes nothing."""

import os

import pytest

from syncsmart.models import RecordLink

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_grace(settings):
    """The emulators' change feeds have no lag: an unanswered create shows up at once."""
    settings.SYNC_PENDING_GRACE_SECONDS = 0


SEEDS = [int(s) for s in os.environ.get("FAULT_SEEDS", "1,2").split(",")]
FAULTS = {"429": 0.05, "500": 0.04, "503": 0.03, "timeout": 0.04, "drop": 0.04}


def converge(pair, max_runs=12):
    runs = []
    for _ in range(max_runs):
        from syncsmart.models import DeferredRecord

        DeferredRecord.objects.update(next_attempt_at="2000-01-01T00:00:00Z")  # retry waiting records now
        runs.append(pair.sync())
        if runs[-1].status == "succeeded" and not DeferredRecord.objects.exists():
            break
    return runs


def seed_connectwise(pair, n=12):
    members = pair.other.add_member("srivera", "Sam", "Rivera", "sam.rivera@example.com")
    owner = pair.hubspot.add_owner("sam.rivera@example.com", "Sam", "Rivera")
    for i in range(n):
        company = pair.other.add_company(f"CW Company {i}", website=f"cw{i}.example.com")
        contact = pair.other.add_contact(f"Cw{i}", "Person", company_id=company["id"], email=f"cw{i}@cw{i}.example.com")
        if i % 3 == 0:
            pair.other.add_opportunity(
                f"CW Opp {i}", company_id=company["id"], contact_id=contact["id"], sales_rep_id=members["id"]
            )
        hub_company = pair.hubspot.create_record("companies", {"name": f"Hub Company {i}", "domain": f"hub{i}.example.com"})
        hub_contact = pair.hubspot.create_record(
            "contacts", {"email": f"hub{i}@hub{i}.example.com", "firstname": f"Hub{i}"}, associations={"companies": [hub_company]}
        )
        if i % 3 == 1:
            pair.hubspot.create_record(
                "deals",
                {"dealname": f"Hub Deal {i}", "hubspot_owner_id": owner},
                associations={"companies": [hub_company], "contacts": [hub_contact]},
            )


@pytest.mark.parametrize("seed", SEEDS)
def test_connectwise_pair_converges_under_faults_without_duplicates(cw_pair, seed):
    seed_connectwise(cw_pair)
    cw_pair.hubspot.set_knobs(faults=FAULTS, seed=seed)
    cw_pair.other.set_knobs(faults=FAULTS, seed=seed + 100)
    converge(cw_pair)
    injected = sum(cw_pair.hubspot.counters()["faults"].values()) + sum(cw_pair.other.counters()["faults"].values())
    assert injected >= 5
    cw_pair.hubspot.set_knobs(faults={})
    cw_pair.other.set_knobs(faults={})
    final = cw_pair.sync()
    assert final.status == "succeeded"
    assert cw_pair.hubspot.count("companies") == 24 and cw_pair.other.count("companies") == 24
    assert cw_pair.hubspot.count("contacts") == 24 and cw_pair.other.count("contacts") == 24
    assert cw_pair.hubspot.count("deals") == 8 and cw_pair.other.count("opportunities") == 8
    assert RecordLink.objects.filter(hubspot_object="contacts").count() == 24
    cw_pair.reset_counters()
    cw_pair.sync()
    assert cw_pair.writes() == (0, 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_dynamics_pair_converges_under_faults_without_duplicates(dyn_pair, seed):
    for i in range(10):
        account = dyn_pair.other.create_record("accounts", {"name": f"Dyn Account {i}", "websiteurl": f"dyn{i}.example.com"})
        contact = dyn_pair.other.create_record(
            "contacts", {"lastname": f"Dyn{i}", "emailaddress1": f"d{i}@dyn{i}.example.com", "parentcustomerid": account}
        )
        if i % 2:
            dyn_pair.other.create_record(
                "opportunities", {"name": f"Dyn Opp {i}", "parentaccountid": account, "parentcontactid": contact}
            )
        hub_company = dyn_pair.hubspot.create_record("companies", {"name": f"Hub Company {i}", "domain": f"hub{i}.example.com"})
        hub_contact = dyn_pair.hubspot.create_record(
            "contacts", {"email": f"hub{i}@hub{i}.example.com", "firstname": f"Hub{i}"}, associations={"companies": [hub_company]}
        )
        if i % 2 == 0:
            dyn_pair.hubspot.create_record(
                "deals",
                {"dealname": f"Hub Deal {i}", "amount": str(100 * i)},
                associations={"companies": [hub_company], "contacts": [hub_contact]},
            )
    dyn_pair.hubspot.set_knobs(faults=FAULTS, seed=seed)
    dyn_pair.other.set_knobs(faults=FAULTS, seed=seed + 100)
    converge(dyn_pair)
    injected = sum(dyn_pair.hubspot.counters()["faults"].values()) + sum(dyn_pair.other.counters()["faults"].values())
    assert injected >= 5
    dyn_pair.hubspot.set_knobs(faults={})
    dyn_pair.other.set_knobs(faults={})
    final = dyn_pair.sync()
    assert final.status == "succeeded"
    assert dyn_pair.hubspot.count("companies") == 20 and dyn_pair.other.count("accounts") == 20
    assert dyn_pair.hubspot.count("contacts") == 20 and dyn_pair.other.count("contacts") == 20
    assert dyn_pair.hubspot.count("deals") == 10 and dyn_pair.other.count("opportunities") == 10
    dyn_pair.reset_counters()
    dyn_pair.sync()
    assert dyn_pair.writes() == (0, 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_salesforce_pair_converges_under_faults_without_duplicates(sf_pair, seed):
    for i in range(10):
        account = sf_pair.other.create_record("Account", {"Name": f"SF Account {i}", "Website": f"sf{i}.example.com"})
        contact = sf_pair.other.create_record(
            "Contact", {"FirstName": f"Sf{i}", "LastName": "Person", "Email": f"sf{i}@sf{i}.example.com", "AccountId": account}
        )
        if i % 2 == 0:
            sf_pair.other.create_record(
                "Opportunity",
                {
                    "Name": f"SF Opp {i}",
                    "StageName": "Prospecting",
                    "CloseDate": "2027-01-01",
                    "AccountId": account,
                    "ContactId": contact,
                },
            )
        hub_company = sf_pair.hubspot.create_record("companies", {"name": f"Hub Company {i}", "domain": f"hub{i}.example.com"})
        hub_contact = sf_pair.hubspot.create_record(
            "contacts",
            {"email": f"hub{i}@hub{i}.example.com", "firstname": f"Hub{i}", "lastname": "Person"},
            associations={"companies": [hub_company]},
        )
        if i % 2 == 1:
            sf_pair.hubspot.create_record(
                "deals",
                {"dealname": f"Hub Deal {i}", "closedate": "2027-02-01T00:00:00Z", "dealstage": "qualifiedtobuy"},
                associations={"companies": [hub_company], "contacts": [hub_contact]},
            )
    sf_pair.hubspot.set_knobs(faults=FAULTS, seed=seed)
    sf_pair.other.set_knobs(faults=FAULTS, seed=seed + 100)
    converge(sf_pair)
    injected = sum(sf_pair.hubspot.counters()["faults"].values()) + sum(sf_pair.other.counters()["faults"].values())
    assert injected > 0
    sf_pair.hubspot.set_knobs(faults={})
    sf_pair.other.set_knobs(faults={})
    final = sf_pair.sync()
    assert final.status == "succeeded", (final.error, final.counts)
    assert sf_pair.hubspot.count("companies") == 20 and sf_pair.other.count("Account") == 20
    # HubSpot's own contacts are Salesforce Leads until converted (issue 23): 10 Contacts + 10 Leads
    assert sf_pair.hubspot.count("contacts") == 20 and (sf_pair.other.count("Contact"), sf_pair.other.count("Lead")) == (10, 10)
    assert sf_pair.hubspot.count("deals") == 10 and sf_pair.other.count("Opportunity") == 10
    assert RecordLink.objects.filter(hubspot_object="contacts").count() == 20
    sf_pair.reset_counters()
    sf_pair.sync()
    assert sf_pair.writes() == (0, 0)
