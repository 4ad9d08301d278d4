"""The sync engine: DESIGN.md section 4, one page at a time.

Modules, outermost first:

- ``jobs``: a run as a job. ``run_slice(run_id)`` takes the integration's lease (one
  conditional UPDATE on ``RunLease``: at most one run per integration across every worker),
  works until the run is done or yields (after any page, when another tenant's run that has
  done no more pages is waiting, or when the slice's time is up), then re-queues itself or
  finishes. ``sweep_once()`` re-queues what dead workers left (expired leases, queued runs the
  broker lost, inbox items no run took).
- ``run``: ``Engine.execute()`` — webhook inbox first, then each flow (mapping, source side)
  in dependency order: the reverse flow's pending records, due deferred records, then the
  change feed from the stored cursor. Each page's links, cursor, inbox marks and events commit
  in one transaction.
- ``flow``: one page of one flow: gate / filter, echo check, parents first, counterparts
  (link, batched match look-up, interrupted-create recovery), batched read of the targets,
  per-field transform / conflict / diff, batched writes with per-record outcomes, checkpoint.
- ``transform``: dropdowns by label (the documented algorithm), owners by exact e-mail.
- ``values``: comparable normal forms, type conversion, hashes for the echo check.
- ``context``: what one run caches (connectors, schemas, owners, mappings, counts).

Knobs (Django settings, else environment variables of the same name):
``SYNC_LEASE_SECONDS`` (120), ``SYNC_SLICE_SECONDS`` (20), ``SYNC_PENDING_GRACE_SECONDS``
(600: how long a create that got no answer waits to show up before it is sent again),
``SYNC_RUN_INLINE`` (False: run in the web process instead of the queue; tests and demos).
"""
