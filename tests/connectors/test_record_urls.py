"""Links that open one record in its vendor's UI, from each vendor's published URL pattern."""

from connectors.record_urls import record_url


def test_a_hubspot_record_opens_in_its_portal():
    url = record_url("hubspot", {"portal_id": "4711"}, "contacts", "501")
    assert url == "https://app.hubspot.com/contacts/4711/record/0-1/501"
    assert record_url("hubspot", {"portal_id": "4711"}, "deals", "9").endswith("/record/0-3/9")


def test_a_connectwise_record_opens_through_the_open_record_router():
    config = {"base_url": "https://na.myconnectwise.net/v4_6_release/apis/3.0", "company_id": "acme"}
    url = record_url("connectwise", config, "companies", "250")
    assert url == (
        "https://na.myconnectwise.net/v4_6_release/services/system_io/router/openrecord.rails"
        "?companyName=acme&recordType=CompanyFV&recid=250"
    )


def test_a_dynamics_record_opens_as_an_entity_record():
    config = {"org_url": "https://contoso.crm.dynamics.com/"}
    url = record_url("dynamics", config, "accounts", "6c0e4b9a-0000-0000-0000-000000000001")
    assert url == (
        "https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=account&id=6c0e4b9a-0000-0000-0000-000000000001"
    )


def test_a_salesforce_record_opens_in_lightning():
    assert record_url("salesforce", {"instance_url": "https://acme.my.salesforce.com"}, "Account", "001xx") == (
        "https://acme.my.salesforce.com/lightning/r/Account/001xx/view"
    )


def test_no_link_for_an_emulator_an_unknown_object_or_a_missing_id():
    assert record_url("hubspot", {"portal_id": "1", "emulator": True}, "contacts", "5") is None
    assert record_url("hubspot", {"portal_id": "1"}, "invoices", "5") is None
    assert record_url("connectwise", {"base_url": "https://x"}, "contacts", "") is None
    assert record_url("hubspot", {}, "contacts", "5") is None
    assert record_url("netsuite", {"account": "1"}, "customer", "5") is None
