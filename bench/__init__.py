"""Benchmarks and the fault soak: `manage.py bench` and `manage.py soak` (see docs/benchmarks.md).

Modules: lab (emulators on real ports + a tenant's integration), measure (RSS, CPU, queries,
API calls), ceiling (what the vendors' published limits allow), scenarios (backfill, engine,
latency, idle, echo), soak (bidirectional sync under faults with a SIGKILLed q2 worker),
database (a throw-away database for a bench process), report (table and JSON).
"""
