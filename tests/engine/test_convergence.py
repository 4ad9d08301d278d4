"""Property: whatever users do on both sides between runs (creates, edits of the same or
different fields), the sync converges: every record exists once on each side, mapped fields
agree, and the next run writes nothing."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncsmart.models import RecordLink
from tests.engine.conftest import build_pair

FIELDS = [("firstname", "firstName"), ("lastname", "lastName"), ("jobtitle", "title")]
words = st.sampled_from(["Ann", "Bob", "Cy", "Dee", "Eve", "CTO", "CEO", "Ops"])
op = st.one_of(
    st.tuples(st.just("hub_create"), st.integers(0, 5)),
    st.tuples(st.just("cw_create"), st.integers(0, 5)),
    st.tuples(st.just("hub_edit"), st.integers(0, 20), st.sampled_from(FIELDS), words),
    st.tuples(st.just("cw_edit"), st.integers(0, 20), st.sampled_from(FIELDS), words),
    st.tuples(st.just("sync")),
)


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=4, max_size=14))
def test_any_interleaving_of_edits_converges(ops):
    pair = build_pair()
    try:
        hub_company = pair.hubspot.create_record("companies", {"name": "Acme", "domain": "acme.example.com"})
        cw_company = pair.other.add_company("Zenith", website="zenith.example.com")
        made = set()
        for step in ops:
            kind = step[0]
            if kind == "hub_create" and ("h", step[1]) not in made:
                made.add(("h", step[1]))
                pair.hubspot.create_record(
                    "contacts",
                    {"email": f"h{step[1]}@acme.example.com", "firstname": "New"},
                    associations={"companies": [hub_company]},
                )
            elif kind == "cw_create" and ("c", step[1]) not in made:
                made.add(("c", step[1]))
                pair.other.add_contact("New", "Person", company_id=cw_company["id"], email=f"c{step[1]}@zenith.example.com")
            elif kind in ("hub_edit", "cw_edit"):
                links = list(RecordLink.objects.filter(integration=pair.integration, hubspot_object="contacts"))
                if not links:
                    continue
                link = links[step[1] % len(links)]
                hub_field, cw_field = step[2]
                if kind == "hub_edit":
                    pair.hubspot.advance_clock(2_000)
                    pair.hubspot.edit_record("contacts", link.hubspot_id, {hub_field: step[3]})
                else:
                    pair.other.edit("contacts", link.other_id, {cw_field: step[3]})
            elif kind == "sync":
                pair.sync()
        pair.sync()
        pair.sync()
        links = list(RecordLink.objects.filter(integration=pair.integration, hubspot_object="contacts"))
        assert pair.hubspot.count("contacts") == pair.other.count("contacts") == len(links) == len(made)
        for link in links:
            hub = pair.hubspot.get_record("contacts", link.hubspot_id)
            cw = pair.other.get("contacts", link.other_id)
            for hub_field, cw_field in FIELDS:
                assert (hub.get(hub_field) or None) == (cw.get(cw_field) or None), (hub_field, hub, cw)
        pair.reset_counters()
        pair.sync()
        assert pair.writes() == (0, 0)
    finally:
        pair.close()
