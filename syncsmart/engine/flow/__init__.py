"""One page of one flow (an object mapping, from one side to the other), stage by stage:

    page.py          Flow.process(): the stages below, in this order, for one page of records
    setup.py         what a flow resolves once per run: sides, objects, fields and their types, schemas
    items.py         Item: one record's way through the page (counterpart, writes, outcome)
    gate.py          gate / filter (deleted, test mode, free e-mails, the mapping's filter), echo check
    parents.py       parents before children: association fields, unlinked parents synced first
    counterparts.py  the counterpart: link, batched match look-up, interrupted-create recovery,
                     batched read of the targets' current values
    field_values.py  one source value in the target's terms (dropdowns, owners, references, types)
    plan.py          pure: per field, transform + conflict + diff -> writes, baselines, conflicts
    write.py         batched creates and updates with per-record outcomes
    checkpoint.py    links, baselines, deferred records, events: committed with the page's cursor

A page's vendor calls of one kind (its look-ups, its reads, its creates, its updates) are
independent chunks, so they go out side by side (`syncsmart.engine.concurrency.in_flight`),
up to the target connection's concurrency bound; only the HTTP runs on worker threads.
Everything that touches the database, including each chunk's PendingCreate rows before it is
sent and its links right after it answers, stays on the run's thread.

Per field, with the link's baseline (the values both sides had when the field was last in
sync): a field is written only when the source changed it since then; when both sides changed
it, the field's system of record wins and the losing value goes on the event; when the value
already equals the target's, nothing is written. The reverse flow handles target-side changes.
"""
