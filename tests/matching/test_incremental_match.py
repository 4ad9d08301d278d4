"""Match rules hold on incremental runs too: a record created on both sides after the first run,
spelled differently (e-mail case and spaces, "Acme Inc." vs "Acme", https://www. vs a bare
domain), is linked to its normalised twin by the next ordinary run, never duplicated."""

import time

import pytest

from bench import twins
from syncsmart.models import RecordEvent, RecordLink
from tests.engine.conftest import build_pair

CENSUS = {"connectwise": twins.census_connectwise, "dynamics": twins.census_dynamics}


@pytest.fixture(params=["connectwise", "dynamics"])
def settled(request, db):
    """A pair whose first run has linked everything: what follows runs incrementally."""
    pair = build_pair(request.param)
    pair.integration.object_mappings.filter(other_object="leads").delete()
    twins.seed_pair(pair.hubspot, pair.other, request.param, twins.dataset(companies=4, contacts=8, deals=2, seed=3))
    assert pair.sync().status == "succeeded"
    time.sleep(1.1)  # ConnectWise stamps lastUpdated to the second: what follows is after the cursor
    yield pair, request.param
    pair.close()


def _add_other_side(pair, system: str) -> None:
    if system == "connectwise":
        zephyr = pair.other.add_company("Zephyr Optics Inc.", website="https://www.zephyroptics.example.com/")
        pair.other.add_company("QUILLON  PAPER, LLC")
        pair.other.add_contact("Nia", "Park", company_id=int(zephyr["id"]), email="  Nia.Park@ZephyrOptics.Example.com ")
    else:
        zephyr = pair.other.create_record(
            "accounts", {"name": "Zephyr Optics Inc.", "websiteurl": "https://www.zephyroptics.example.com/"}
        )
        pair.other.create_record("accounts", {"name": "QUILLON  PAPER, LLC"})
        pair.other.create_record(
            "contacts",
            {
                "firstname": "Nia",
                "lastname": "Park",
                "emailaddress1": "  Nia.Park@ZephyrOptics.Example.com ",
                "parentcustomerid": zephyr,
            },
        )


def _add_hubspot_side(pair) -> None:
    zephyr = pair.hubspot.create_record(
        "companies", {"name": "Zephyr Optics", "domain": "zephyroptics.example.com"}, notify=False
    )
    pair.hubspot.create_record("companies", {"name": "Quillon Paper"}, notify=False)
    pair.hubspot.create_record(
        "contacts",
        {"email": "nia.park@zephyroptics.example.com", "firstname": "Nia", "lastname": "Park"},
        associations={"companies": [zephyr]},
        notify=False,
    )


def test_an_incremental_run_links_new_twins_spelled_differently_instead_of_duplicating(settled):
    pair, system = settled
    links_before = RecordLink.objects.count()
    _add_other_side(pair, system)
    _add_hubspot_side(pair)

    run = pair.sync()

    assert run.status == "succeeded", run.error
    hub, other = twins.census_hubspot(pair.hubspot), CENSUS[system](pair.other)
    for obj in ("companies", "contacts"):
        assert hub.duplicates(obj) == other.duplicates(obj) == 0, (obj, hub.summary(), other.summary())
    assert RecordLink.objects.count() == links_before + 3
    linked = RecordEvent.objects.filter(run=run, outcome="linked")
    assert linked.count() == 3, list(RecordEvent.objects.filter(run=run).values_list("outcome", "message"))
    assert not RecordEvent.objects.filter(run=run, outcome="created").exists()


# Salesforce and NetSuite look up by LIKE on the key's longest word (connectors.base.lookup_fragment),
# as Dynamics does with contains(): a twin typed with other case, spaces or a legal suffix is found.
SETTLED_BY_HAND = {
    "salesforce": {"hubspot_contacts_elsewhere": {"other_object": "Lead"}},
    "netsuite": {"hubspot_contacts_elsewhere": {"hubspot_object": "contacts", "other_object": "customers"}},
}


@pytest.fixture(params=["salesforce", "netsuite"])
def settled_by_hand(request, db):
    """A pair after a first run that created one company and contact on the other side."""
    pair = build_pair(request.param)
    pair.integration.object_mappings.filter(**SETTLED_BY_HAND[request.param]["hubspot_contacts_elsewhere"]).delete()
    company = pair.hubspot.create_record("companies", {"name": "Northwind", "domain": "northwind.example.com"}, notify=False)
    pair.hubspot.create_record(
        "contacts",
        {"email": "ann@northwind.example.com", "firstname": "Ann", "lastname": "Lee"},
        associations={"companies": [company]},
        notify=False,
    )
    assert pair.sync().status == "succeeded"
    time.sleep(1.1)  # what follows is after the cursors, whatever the vendors' stamp resolution
    yield pair, request.param
    pair.close()


def _add_on_salesforce_or_netsuite(pair, system: str) -> None:
    if system == "salesforce":
        zephyr = pair.other.create_record(
            "Account", {"Name": "Zephyr Optics Inc.", "Website": "https://www.zephyroptics.example.com/"}
        )
        pair.other.create_record("Account", {"Name": "QUILLON  PAPER, LLC"})
        pair.other.create_record(
            "Contact", {"FirstName": "Nia", "LastName": "Park", "Email": "Nia.Park@ZephyrOptics.Example.com", "AccountId": zephyr}
        )
    else:
        zephyr = pair.other.add_customer("Zephyr Optics Inc.", url="https://www.zephyroptics.example.com/")
        pair.other.add_customer("QUILLON  PAPER, LLC")
        pair.other.add_contact("Nia", "Park", "Nia.Park@ZephyrOptics.Example.com", zephyr["id"])


def test_salesforce_and_netsuite_incremental_runs_link_twins_spelled_differently(settled_by_hand):
    pair, system = settled_by_hand
    links_before = RecordLink.objects.count()
    _add_on_salesforce_or_netsuite(pair, system)
    _add_hubspot_side(pair)

    run = pair.sync()

    assert run.status == "succeeded", run.error
    events = list(RecordEvent.objects.filter(run=run).values_list("source_object", "outcome", "message"))
    assert RecordEvent.objects.filter(run=run, outcome="linked").count() == 3, events
    assert not RecordEvent.objects.filter(run=run, outcome="created").exists(), events
    assert RecordLink.objects.count() == links_before + 3
