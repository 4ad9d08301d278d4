"""The sync engine and a run's whole life (see docs/architecture.md for the layers).

A run's life, in the order a run meets the modules:

- ``run_requests``: ``request_run`` (a row first, the broker after the commit), ``retry_record``,
  ``cancel_run``, ``cancel_queued_runs``; ``historical``: ``start_historical_sync``.
- ``queue``: ``enqueue_run`` hands a run id to django-q2 (or, with SYNC_RUN_INLINE, runs the task
  here); integration schedules and the sweep's schedule. ``tasks``: what q2 calls by path.
- ``slices``: ``run_slice(run_id)`` takes the integration's lease (``lease``: one conditional
  UPDATE on ``RunLease``, at most one run per integration across every worker), works until the
  run is done or yields (after any page, when another tenant's run that has done no more pages
  is waiting, or when the slice's time is up), then re-queues itself or finishes.
- ``states``: the only writer of ``SyncRun.status`` (allowed transitions, named moves).
- ``sweep``: re-queues what dead workers left (expired leases, queued runs the broker lost,
  inbox items no run took).
- ``run``: ``Engine.execute()`` — webhook inbox first, then each flow (mapping, source side)
  in dependency order: the reverse flow's pending records, due deferred records, then the
  change feed from the stored cursor. Each page's links, cursor, inbox marks and events commit
  in one transaction.
- ``flow/``: one page of one flow, a module per stage: gate / filter and echo check, parents
  first, counterparts (link, batched match look-up, interrupted-create recovery, batched read
  of the targets), the plan (pure: per-field transform / conflict / diff), batched writes with
  per-record outcomes, checkpoint. ``concurrency.in_flight`` sends a page's calls side by side.
- ``transform``: dropdowns by label, owners by exact e-mail. ``values``: comparable normal
  forms, type conversion, hashes for the echo check. ``context``: what one run caches
  (connectors, schemas, owners, mappings, counts). ``counts``: record counts for the progress bar.
- ``config``: every SYNC_* setting, read once into ``EngineSettings``.
"""
