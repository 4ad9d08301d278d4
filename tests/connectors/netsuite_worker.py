"""A worker process for the NetSuite concurrency test: one connector, one process-local thread
pool, the shared in-flight limiter in a SQLite file (as the embedded deployment's workers share
it), writing and reading against an emulator on a real port.

    python -m tests.connectors.netsuite_worker BASE_URL STORE_FILE LIMIT PREFIX COUNT
Prints one JSON line: {"created": [...ids], "errors": [...], "reads": n}.
"""

from __future__ import annotations

import concurrent.futures
import json
import sys

from connectors.base import WriteInput
from connectors.http import default_retry
from connectors.ratelimit import ConcurrencyPolicy, InFlightLimiter, SQLiteStore
from tests.connectors.netsuite_harness import netsuite_connector


def main(base_url: str, store_file: str, limit: int, prefix: str, count: int) -> dict:
    limiter = InFlightLimiter("netsuite:1234567_SB1", ConcurrencyPolicy("netsuite-test", limit), store=SQLiteStore(store_file))
    connector = netsuite_connector(
        base_url, None, limiter=limiter, retry=default_retry(total=30, backoff_factor=0.05, max_backoff_wait=0.5)
    )

    def create(n: int):
        props = {"companyName": f"{prefix} {n}", "email": f"{prefix.lower()}{n}@load.example.com"}
        return connector.create("customers", [WriteInput(props, ref=f"{prefix}-{n}")])[0]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(count)))
        ids = [r.id for r in results if r.ok]
        reads = list(
            pool.map(
                lambda chunk: len(connector.read_by_ids("customers", chunk)), [ids[i : i + 5] for i in range(0, len(ids), 5)]
            )
        )
    connector.close()
    return {"created": ids, "errors": [r.error.message for r in results if not r.ok], "reads": sum(reads)}


if __name__ == "__main__":
    base, store, limit, prefix, count = sys.argv[1:6]
    print(json.dumps(main(base, store, int(limit), prefix, int(count))))
