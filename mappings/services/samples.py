"""Current records of one object, for the filter builder's live count.

Fetched once through the connector (the same batch reads the engine uses, at most
MAX_SAMPLE records) and cached, so typing in the builder never calls the vendor; the
customer can refresh the sample. A vendor failure is shown, never raised into the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from connectors.base import ConnectorError

MAX_SAMPLE = 1000
CACHE_SECONDS = 15 * 60


@dataclass
class Sample:
    records: list[dict[str, Any]] = field(default_factory=list)
    fetched_at: datetime | None = None
    complete: bool = True  # False: more records exist than were fetched
    error: str = ""


def _key(connection, object_type: str) -> str:
    return f"ui-sample:{connection.pk}:{object_type}"


def cached_sample(connection, object_type: str) -> Sample | None:
    return cache.get(_key(connection, object_type))


def remember_sample(connection, object_type: str, sample: Sample) -> Sample:
    cache.set(_key(connection, object_type), sample, CACHE_SECONDS)
    return sample


def fetch_sample(connection, object_type: str, limit: int = MAX_SAMPLE) -> Sample:
    sample = Sample(fetched_at=timezone.now())
    try:
        connector = connection.connector()
    except (ConnectorError, LookupError, ImportError, KeyError, ValueError) as exc:
        sample.error = f"Could not reach {connection}: {exc}"
        return sample
    try:
        cursor, by_id = None, {}
        while len(by_id) < limit:
            page = connector.read_changes(object_type, cursor, page_size=min(connector.max_page_size, limit))
            # Overlapping read windows may repeat a record: keep one copy per id.
            by_id.update((r.id, {"id": r.id, **r.properties}) for r in page.records if not r.deleted)
            sample.records = list(by_id.values())
            cursor = page.cursor
            if not page.has_more:
                break
        else:
            sample.complete = False
    except ConnectorError as exc:
        sample.error = f"{connection} answered: {exc.message}"
    finally:
        connector.close()
    sample.records = sample.records[:limit]
    return remember_sample(connection, object_type, sample) if not sample.error else sample


def sample_for(connection, object_type: str, refresh: bool = False) -> Sample:
    if not refresh and (found := cached_sample(connection, object_type)) is not None:
        return found
    return fetch_sample(connection, object_type)
