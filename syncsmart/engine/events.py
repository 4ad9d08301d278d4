"""A page's record events, written without building a model instance per record.

The record log and the record page read RecordEvent rows; a page of a backfill writes one per
record, and building those ORM objects (and compiling each column of each one) cost as much CPU
as the rest of the page. The checkpoint builds an `EventRow` (a tuple with RecordEvent's column
values) instead, and `insert_events` writes the page's rows with one prepared INSERT run over all
of them (`executemany`). The rows are the same RecordEvent rows as before, so nothing that reads
them changes; events other stages build as RecordEvent objects are written the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from syncsmart.models import RecordEvent


class EventRow(NamedTuple):
    """One RecordEvent's values, in the table's column order after the run and integration."""

    object_mapping_id: int | None
    source_side: str
    source_object: str
    source_id: str
    target_id: str
    outcome: str
    message: str
    fields: list
    details: dict
    created_at: datetime

    @classmethod
    def of(cls, event: RecordEvent) -> EventRow:
        return cls(
            event.object_mapping_id,
            event.source_side,
            event.source_object,
            event.source_id,
            event.target_id,
            event.outcome,
            event.message,
            event.fields,
            event.details,
            event.created_at,
        )


# RecordEvent's fields, in the order of the values insert_events sends.
FIELDS = ("run", "integration", "object_mapping", *EventRow._fields[1:])
BATCH = 500


def _insert_sql() -> str:
    meta = RecordEvent._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in FIELDS)
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(FIELDS))})"


def insert_events(run_id: Any, integration_id: Any, rows: Iterable[EventRow]) -> None:
    """Store the rows as RecordEvent rows of the run, in the caller's transaction. Values are
    adapted as the ORM adapts them (JSON, dates), once per distinct timestamp."""
    ops, meta = connection.ops, RecordEvent._meta
    # Adapted as the ORM adapts them (a run's UUID key is text on SQLite).
    run_id = meta.get_field("run").get_db_prep_value(run_id, connection)
    integration_id = meta.get_field("integration").get_db_prep_value(integration_id, connection)
    stamps: dict[datetime, Any] = {}
    params = []
    for row in rows:
        stamp = stamps.get(row.created_at)
        if stamp is None:
            stamp = stamps[row.created_at] = ops.adapt_datetimefield_value(row.created_at)
        params.append(
            (
                run_id,
                integration_id,
                row.object_mapping_id,
                row.source_side,
                row.source_object,
                row.source_id,
                row.target_id,
                row.outcome,
                row.message,
                ops.adapt_json_value(row.fields, None),
                ops.adapt_json_value(row.details, None),
                stamp,
            )
        )
    if not params:
        return
    sql = _insert_sql()
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])
