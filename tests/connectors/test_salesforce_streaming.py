"""Change Data Capture over the Streaming API: the emulator publishes committed writes as change
events on CometD channels, and the connector's subscriber turns them into inbox events, resuming
from its replay id after the server forgets it."""

from __future__ import annotations

import threading

import httpx
import pytest

from connectors.salesforce.emulator import SalesforceEmulator
from connectors.salesforce.streaming import ChangeEventStream
from tests.connectors.salesforce_harness import IN_PROCESS_BASE, salesforce_connector

COMETD = "/cometd/59.0"


@pytest.fixture
def emulator() -> SalesforceEmulator:
    return SalesforceEmulator(limits=False, streaming_timeout_s=0.3)


@pytest.fixture
def connector(emulator):
    connector = salesforce_connector(emulator, IN_PROCESS_BASE, emulator.transport())
    yield connector
    connector.close()


def bayeux(emulator, token, *messages):
    with httpx.Client(base_url=IN_PROCESS_BASE, transport=emulator.transport()) as client:
        return client.post(COMETD, json=list(messages), headers={"Authorization": f"Bearer {token}"}).json()


def test_handshake_subscribe_and_connect_deliver_change_events_in_salesforces_shape(emulator):
    token = emulator.issue_session()["access_token"]
    [shake] = bayeux(
        emulator, token, {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
    )
    assert shake["successful"] and shake["advice"]["reconnect"] == "retry" and shake["ext"]["replay"]
    client_id = shake["clientId"]
    subscribe = {"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/data/ContactChangeEvent"}
    assert bayeux(emulator, token, subscribe)[0]["successful"]
    contact = emulator.create_record("Contact", {"LastName": "Stream", "Email": "s@x.io"})
    emulator.edit_record("Contact", contact, {"Title": "CTO"})
    emulator.create_record("Account", {"Name": "Not on this channel"})
    messages = bayeux(emulator, token, {"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"})
    events = [m for m in messages if m["channel"] == "/data/ContactChangeEvent"]
    assert [e["data"]["payload"]["ChangeEventHeader"]["changeType"] for e in events] == ["CREATE", "UPDATE"]
    update = events[1]["data"]
    assert update["payload"]["ChangeEventHeader"]["recordIds"] == [contact]
    assert "Title" in update["payload"]["ChangeEventHeader"]["changedFields"] and update["payload"]["Title"] == "CTO"
    assert update["event"]["replayId"] > events[0]["data"]["event"]["replayId"]
    assert messages[-1]["channel"] == "/meta/connect" and messages[-1]["successful"]


def test_unknown_clients_channels_and_sessions_are_refused_as_bayeux_errors(emulator):
    token = emulator.issue_session()["access_token"]
    [gone] = bayeux(emulator, token, {"channel": "/meta/connect", "clientId": "nope", "connectionType": "long-polling"})
    assert gone["error"] == "403::Unknown client" and gone["advice"]["reconnect"] == "handshake"
    [shake] = bayeux(emulator, token, {"channel": "/meta/handshake", "version": "1.0"})
    [bad] = bayeux(
        emulator, token, {"channel": "/meta/subscribe", "clientId": shake["clientId"], "subscription": "/data/UserChangeEvent"}
    )
    assert not bad["successful"] and bad["error"].startswith("400::The channel you requested to subscribe to does not exist")
    with httpx.Client(base_url=IN_PROCESS_BASE, transport=emulator.transport()) as client:
        assert (
            client.post(COMETD, json=[{"channel": "/meta/handshake"}], headers={"Authorization": "Bearer stale"}).status_code
            == 401
        )
        assert client.post(COMETD, content=b"\xff{", headers={"Authorization": f"Bearer {token}"}).status_code == 400


def test_a_rolled_back_all_or_none_write_publishes_no_event(emulator):
    token = emulator.issue_session()["access_token"]
    before = emulator.cdc.mark()
    with httpx.Client(
        base_url=IN_PROCESS_BASE, transport=emulator.transport(), headers={"Authorization": f"Bearer {token}"}
    ) as api:
        api.post(
            "/services/data/v59.0/composite/sobjects",
            json={
                "allOrNone": True,
                "records": [{"attributes": {"type": "Contact"}, "LastName": "A"}, {"attributes": {"type": "Contact"}}],
            },
        )
    assert emulator.cdc.mark() == before


def test_the_subscriber_turns_change_events_into_inbox_events(emulator, connector):
    stream = ChangeEventStream(connector)
    stream.open()
    lead = emulator.create_record("Lead", {"LastName": "L", "Company": "C", "Email": "l@c.io"})
    account = emulator.create_record("Account", {"Name": "A"})
    emulator.delete_record("Account", account)
    events = stream.poll()
    assert [(e.object_type, e.record_id, e.change) for e in events] == [
        ("Lead", lead, "created"),
        ("Account", account, "created"),
        ("Account", account, "deleted"),
    ]
    assert len({e.event_id for e in events}) == 3 and stream.replay_id > 0
    assert stream.poll() == []  # nothing new: the long poll ends at the server's timeout
    stream.close()


def test_a_task_change_goes_to_the_object_type_of_its_subtype(emulator, connector):
    stream = ChangeEventStream(connector)
    stream.open()
    contact = emulator.create_record("Contact", {"LastName": "C"})
    call = emulator.create_record("Task", {"Subject": "Rang", "TaskSubtype": "Call", "WhoId": contact})
    emulator.edit_record("Task", call, {"Status": "Completed"})
    events = [(e.object_type, e.change) for e in stream.poll() if e.record_id == call]
    # the create names its subtype; an update does not, so each Task type hears of it (the others read nothing)
    assert events == [("Task.Call", "created"), ("Task", "updated"), ("Task.Call", "updated"), ("Task.Email", "updated")]
    stream.close()


def test_a_long_poll_returns_as_soon_as_a_change_commits(emulator, connector):
    emulator.cdc.poll_timeout_s = 10
    stream = ChangeEventStream(connector)
    stream.open()
    timer = threading.Timer(0.2, lambda: emulator.create_record("Contact", {"LastName": "Soon"}))
    timer.start()
    events = stream.poll()
    timer.join()
    assert [e.object_type for e in events] == ["Contact"]


def test_a_forgotten_client_resubscribes_from_its_replay_id_and_loses_nothing(emulator, connector):
    stream = ChangeEventStream(connector)
    stream.open()
    first = emulator.create_record("Contact", {"LastName": "First"})
    assert [e.record_id for e in stream.poll()] == [first]
    emulator.cdc.clients.clear()  # the server restarted / dropped the client
    second = emulator.create_record("Contact", {"LastName": "Second"})
    assert stream.poll() == [] and stream.client_id is None  # told to hand shake again
    assert [e.record_id for e in stream.poll()] == [second]  # replayed from the last id it had


def test_a_replay_id_past_retention_falls_back_to_every_retained_event(emulator, connector):
    emulator.cdc.retention = 2
    for n in range(4):
        emulator.create_record("Contact", {"LastName": f"R{n}"})
    stream = ChangeEventStream(connector, replay_id=1)  # retention now starts at replayId 3
    events = stream.poll()
    assert len(events) == 2 and stream.replay_id == 4
