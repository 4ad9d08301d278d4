"""`manage.py salesforce_stream INTEGRATION [--polls N]`: near real time from Salesforce. Subscribes
to the org's Change Data Capture events on the Streaming API (CometD long-polling, see
connectors/salesforce/streaming.py), stores each change in the integration's webhook inbox (the
same rows vendor webhooks make, so the engine reads them first) and asks for a run. The last
replayId is kept on the connection, so a restarted stream resumes without losing an event the org
still retains (the first start replays every retained event). Run one per Salesforce integration
next to the worker cluster; without it, the scheduled runs read changes by SystemModstamp as usual."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connectors.base import ConnectorError
from connectors.salesforce.streaming import ChangeEventStream
from mappings.models import Integration
from syncsmart.webhooks import _queue_run, store_events

REPLAY_KEY = "cdc_replay_id"


class Command(BaseCommand):
    help = "Stream a Salesforce org's Change Data Capture events into an integration's inbox."

    def add_arguments(self, parser) -> None:
        parser.add_argument("integration", help="integration id")
        parser.add_argument("--polls", type=int, default=0, help="stop after this many long polls (0: run until stopped)")

    def handle(self, *args, **options) -> None:
        integration = Integration.objects.filter(pk=options["integration"]).select_related("other_connection").first()
        if integration is None or integration.other_connection.system != "salesforce":
            raise CommandError("No HubSpot ↔ Salesforce integration with that id.")
        connection = integration.other_connection
        connector = connection.connector()
        # First start: every event the org retains (-2), so nothing between "connected" and "streaming" is
        # missed; a replayed change the engine already synced is judged unchanged (echo), not written.
        stream = ChangeEventStream(connector, replay_id=int((connection.config or {}).get(REPLAY_KEY, -2)))
        polls = 0
        try:
            while not options["polls"] or polls < options["polls"]:
                polls += 1
                try:
                    events = stream.poll()
                except ConnectorError as error:
                    self.stderr.write(f"salesforce_stream: {error.message}")
                    if not error.retryable:
                        raise CommandError(error.message) from None
                    continue
                self._store(integration, connection, events, stream.replay_id)
                if events:
                    self.stdout.write(f"salesforce_stream: {len(events)} change(s), replayId {stream.replay_id}")
        finally:
            stream.close()
            connector.close()

    @staticmethod
    def _store(integration: Integration, connection, events, replay_id: int) -> None:
        with transaction.atomic():
            new = store_events(integration, "other", events)
            connection.config = {**(connection.config or {}), REPLAY_KEY: replay_id}
            connection.save(update_fields=["config", "updated_at"])
            if new and integration.enabled:
                transaction.on_commit(lambda: _queue_run(integration.pk))
