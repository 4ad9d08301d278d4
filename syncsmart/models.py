"""The sync engine's state. The database, not the broker, holds the truth about work: runs,
the webhook inbox and the deferred queue are rows, so a sweep can re-queue whatever a dead
worker left behind (django-q2's Redis broker has no delivery receipts)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from syncsmart.core.choices import Side


class SyncRun(models.Model):
    """One pass of an integration's sync. The q2 task only executes a run id."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        WEBHOOK = "webhook", "Webhook"
        MANUAL = "manual", "Manual"
        HISTORICAL = "historical", "Historical sync"
        RETRY = "retry", "Retry"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Finished with failures"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    # Limit a run to one object mapping (manage.py sync --object, retry, UI "sync contacts now").
    object_mapping = models.ForeignKey(
        "mappings.ObjectMapping", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where a sliced run stopped: {"step": n, ...}; see syncsmart.engine.run.
    state = models.JSONField(default=dict, blank=True)
    # {"created": n, "updated": n, ..., "writes_hubspot": n, "writes_other": n}
    counts = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True)  # [[iso time, level, message], ...] bounded
    worker = models.CharField(max_length=200, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    MAX_LOG_LINES = 200

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["integration", "-created_at"]), models.Index(fields=["status", "queued_at"])]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} run {str(self.pk)[:8]} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def between_slices(self) -> bool:
        """Started, then back in the queue: it gave other workspaces their turn (or waits out
        vendor trouble) and continues where it stopped. It is working, not waiting to start."""
        return self.status == self.Status.QUEUED and self.started_at is not None

    def get_status_display(self) -> str:
        """The status in the customer's words, everywhere a run's status is shown (pages, API,
        staff). A run between slices reads as working, never as "Queued" (not started yet)."""
        if self.between_slices:
            if self.queued_at and self.queued_at > timezone.now():
                return "Working — paused, continues shortly"
            return "Working — continuing after other workspaces' turn"
        return str(self.Status(self.status).label) if self.status in self.Status.values else self.status

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, int(100 * self.progress_done / self.progress_total))

    def add_log(self, level: str, message: str) -> None:
        self.log = (self.log + [[timezone.now().isoformat(), level, message]])[-self.MAX_LOG_LINES :]


class RunLease(models.Model):
    """At most one run per integration at a time, across every worker machine.

    Taking the lease is one conditional UPDATE (free, expired, or already ours), which is
    atomic on PostgreSQL and SQLite alike; the holder renews it at a page's commit once a third
    of it has passed (until then nobody else can take it), so a dead worker's lease simply expires.
    """

    integration = models.OneToOneField("mappings.Integration", on_delete=models.CASCADE, related_name="lease")
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(default=timezone.now)
    # A slice found the lease held and left its run queued: the holder's release hands it on.
    waiting = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"lease of {self.integration_id} by {self.holder or 'nobody'}"


class RecordLink(models.Model):
    """This HubSpot record is that record in the other system, and what we last saw of both."""

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="links")
    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="links")
    # Denormalised object types: associations resolve parents by type, across mappings.
    hubspot_object = models.CharField(max_length=100)
    other_object = models.CharField(max_length=100)
    hubspot_id = models.CharField(max_length=100)
    other_id = models.CharField(max_length=100)
    # Mapped values as last written to / read from each side (in that side's terms), and their
    # hashes: the echo check compares hashes, conflict detection compares fields.
    hubspot_values = models.JSONField(default=dict, blank=True)
    other_values = models.JSONField(default=dict, blank=True)
    hubspot_hash = models.CharField(max_length=64, blank=True)
    other_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_mapping", "hubspot_id"], name="one_link_per_hubspot_record"),
            models.UniqueConstraint(fields=["object_mapping", "other_id"], name="one_link_per_other_record"),
        ]
        indexes = [
            models.Index(fields=["integration", "hubspot_object", "hubspot_id"]),
            models.Index(fields=["integration", "other_object", "other_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.hubspot_object}/{self.hubspot_id} ↔ {self.other_object}/{self.other_id}"

    # --- one side's columns, by Side -----------------------------------------------------
    @staticmethod
    def id_column(side: str) -> str:
        return "hubspot_id" if side == Side.HUBSPOT else "other_id"

    @staticmethod
    def object_column(side: str) -> str:
        return "hubspot_object" if side == Side.HUBSPOT else "other_object"

    def id_on(self, side: str) -> str:
        return self.hubspot_id if side == Side.HUBSPOT else self.other_id

    def values_on(self, side: str) -> dict[str, Any]:
        return self.hubspot_values if side == Side.HUBSPOT else self.other_values

    def hash_on(self, side: str) -> str:
        return self.hubspot_hash if side == Side.HUBSPOT else self.other_hash

    def set_values_on(self, side: str, values: dict[str, Any]) -> None:
        if side == Side.HUBSPOT:
            self.hubspot_values = values
        else:
            self.other_values = values


class SyncCursor(models.Model):
    """Where reading one side of one object mapping got to; saved with every page that did work
    (an empty page's move is saved with the next commit or at the end of the slice)."""

    class Kind(models.TextChoices):
        INCREMENTAL = "incremental", "Incremental"
        HISTORICAL = "historical", "Historical"
        RECONCILE = "reconcile", "Reconcile of deletions"  # cursor = {"at": when linked ids were last checked}
        # Inclusion lists: cursor = {"members": {list id: [record ids]}} as the last run saw them.
        LISTS = "lists", "Inclusion lists' members"

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="cursors")
    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="cursors")
    side = models.CharField(max_length=10, choices=Side.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCREMENTAL)
    cursor = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object_mapping", "side", "kind"], name="one_cursor_per_side")]

    def __str__(self) -> str:
        return f"{self.object_mapping} {self.side} {self.kind}: {self.cursor}"


class RecordEvent(models.Model):
    """What happened to one record in one run, for the customer to see and retry."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        FILTERED = "filtered", "Filtered out"
        ECHO = "echo", "Our own change"
        DEFERRED = "deferred", "Waiting for a parent"
        CONFLICT = "conflict", "Conflict resolved"
        FAILED = "failed", "Failed"
        LINKED = "linked", "Linked to an existing record"
        DELETED = "deleted", "Deleted in the source"
        REMOVED = "removed", "Removed on the other side"
        AMBIGUOUS = "ambiguous", "Ambiguous match"
        LEFT_LIST = "left_list", "Left the inclusion list"

    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="events")
    object_mapping = models.ForeignKey(
        "mappings.ObjectMapping", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_side = models.CharField(max_length=10, choices=Side.choices)
    source_object = models.CharField(max_length=100, blank=True)
    source_id = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, db_index=True)
    message = models.TextField(blank=True)  # the vendor's message for failures, our reason otherwise
    fields = models.JSONField(default=list, blank=True)  # fields involved
    # Conflict losers {field: {"kept": v, "lost": v, "winner": side}}, unmatched dropdowns
    # [{"property", "value"}], vendor error dict...
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["integration", "-created_at"]),
            models.Index(fields=["integration", "outcome", "-created_at"]),
            models.Index(fields=["integration", "source_side", "source_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.source_object}/{self.source_id}: {self.outcome}"


class InboxItem(models.Model):
    """One verified webhook notification, stored before it is acknowledged."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="inbox")
    side = models.CharField(max_length=10, choices=Side.choices)
    event_id = models.CharField(max_length=200)
    object_type = models.CharField(max_length=100)
    record_id = models.CharField(max_length=100)
    change = models.CharField(max_length=30, default="updated")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [models.UniqueConstraint(fields=["integration", "side", "event_id"], name="webhook_stored_once")]
        indexes = [models.Index(fields=["integration", "status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.side} {self.object_type}/{self.record_id} {self.change} ({self.status})"


class DeferredRecord(models.Model):
    """A record that waits for its parent to be linked (never create an orphan)."""

    MAX_ATTEMPTS = 10

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="deferred")
    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="deferred")
    source_side = models.CharField(max_length=10, choices=Side.choices)
    record_id = models.CharField(max_length=100)
    reason = models.TextField(blank=True)
    waiting_for = models.JSONField(default=list, blank=True)  # [{"object": "companies", "id": "12"}]
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        constraints = [models.UniqueConstraint(fields=["object_mapping", "source_side", "record_id"], name="deferred_once")]

    def __str__(self) -> str:
        return f"{self.source_side} {self.record_id} waiting ({self.attempts} tries)"

    @property
    def gave_up(self) -> bool:
        return self.attempts >= self.MAX_ATTEMPTS

    # The first tries come with the very next run (a vendor hiccup or a parent synced a moment
    # later is the usual cause); after that, waits double up to an hour.
    IMMEDIATE_ATTEMPTS = 3

    @classmethod
    def backoff(cls, attempts: int) -> timedelta:
        if attempts <= cls.IMMEDIATE_ATTEMPTS:
            return timedelta(0)
        return timedelta(seconds=min(3600, 30 * 2 ** (attempts - cls.IMMEDIATE_ATTEMPTS - 1)))

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "side": self.source_side, "attempts": self.attempts, "reason": self.reason}


class AmbiguousMatch(models.Model):
    """A record with two or more possible counterparts: it waits, creating nothing, until the
    customer chooses one (mappings.matching_actions.resolve) — never a guess."""

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="ambiguous_matches")
    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="ambiguous_matches")
    source_side = models.CharField(max_length=10, choices=Side.choices)
    source_object = models.CharField(max_length=100)
    source_id = models.CharField(max_length=100)
    source_label = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=500, blank=True)  # the match key that found them, readable
    value = models.CharField(max_length=500, blank=True)  # its normalised value
    candidates = models.JSONField(default=list)  # [{"id": "...", "label": "..."}], in the target object
    chosen_id = models.CharField(max_length=100, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)  # who chose, as the audit trail names them
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["object_mapping", "source_side", "source_id"], name="ambiguous_once_per_record")
        ]
        indexes = [models.Index(fields=["integration", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.source_side} {self.source_object}/{self.source_id}: {len(self.candidates)} candidates"

    @property
    def target_side(self) -> str:
        return Side.OTHER if self.source_side == Side.HUBSPOT else Side.HUBSPOT

    @property
    def target_object(self) -> str:
        return self.object_mapping.object_for(self.target_side)

    def candidate_ids(self) -> list[str]:
        return [str(c.get("id")) for c in self.candidates if isinstance(c, dict)]


class HeldConflict(models.Model):
    """Both sides changed a field under conflict review (FieldMapping.conflict_review) since it was
    last in sync: neither value is written; the pair waits here, with both values, until a person
    accepts one side or types the value (mappings.services.conflicts). One open row per link and
    field mapping; a later run refreshes its values, and closes it when the two sides agree again."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        RESOLVED = "resolved", "Resolved"
        SETTLED = "settled", "Settled by itself"  # the two sides came to agree before anyone chose

    class Accepted(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot's value"
        OTHER = "other", "The other system's value"
        VALUE = "value", "A typed value"

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="held_conflicts")
    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="held_conflicts")
    field_mapping = models.ForeignKey("mappings.FieldMapping", on_delete=models.CASCADE, related_name="held_conflicts")
    link = models.ForeignKey(RecordLink, on_delete=models.CASCADE, related_name="held_conflicts")
    hubspot_id = models.CharField(max_length=100)
    other_id = models.CharField(max_length=100)
    label = models.CharField(max_length=300, blank=True)  # the record as a person knows it (e-mail, name)
    hubspot_value = models.JSONField(null=True, blank=True)  # HubSpot's value, in HubSpot's terms
    other_value = models.JSONField(null=True, blank=True)  # the other system's, in its terms
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    accepted = models.CharField(max_length=10, choices=Accepted.choices, blank=True)
    typed_value = models.JSONField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["link", "field_mapping"], condition=models.Q(status="open"), name="one_open_conflict_per_field"
            )
        ]
        indexes = [models.Index(fields=["integration", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.link}: {self.field_mapping} held for review"

    def value_on(self, side: str) -> Any:
        return self.hubspot_value if side == Side.HUBSPOT else self.other_value

    def id_on(self, side: str) -> str:
        return self.hubspot_id if side == Side.HUBSPOT else self.other_id


class Preview(models.Model):
    """A dry run: what a run would do, read from both systems, written to neither. Its result
    (counts per object mapping, direction and outcome, 20 samples of each, the fields updates
    would change, the filters that would keep records out) outlives the run it came from."""

    class Kind(models.TextChoices):
        FIRST_RUN = "first_run", "First run (nothing linked yet)"
        NEXT_RUN = "next_run", "Next run"
        HISTORICAL = "historical", "Historical resync"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="previews")
    object_mapping = models.ForeignKey(
        "mappings.ObjectMapping", null=True, blank=True, on_delete=models.CASCADE, related_name="previews"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.FIRST_RUN)
    purpose = models.CharField(max_length=40, blank=True)  # install, go_live, mapping_on, resync
    # Preview against another connection of the other system (the production one, before a switch).
    other_connection = models.ForeignKey(
        "connectors.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    with_creates = models.BooleanField(default=True)  # False: as a link-only first run would
    # A historical resync's "changed since": the preview reads from the same start as the resync.
    since = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    write_calls = models.PositiveIntegerField(default=0)  # vendor write calls made: always 0
    error = models.TextField(blank=True)
    requested_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"preview {self.pk} of {self.integration_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class PendingCreate(models.Model):
    """A create the engine sent but whose outcome it did not learn (a timeout, a dropped
    connection, a killed worker). Before creating that record again, the engine looks for it
    in the target by `field` = `value` (the value it sent), so an interrupted create is linked,
    never duplicated."""

    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="+")
    source_side = models.CharField(max_length=10, choices=Side.choices)
    source_id = models.CharField(max_length=100)
    field = models.CharField(max_length=200, blank=True)
    value = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object_mapping", "source_side", "source_id"], name="one_pending_create")]

    def __str__(self) -> str:
        return f"pending create of {self.source_side} {self.source_id} ({self.field}={self.value})"


class WorkerHeartbeat(models.Model):
    """A django-q2 worker process says it is alive (syncsmart.heartbeat): one row per process,
    written every HEARTBEAT_SECONDS; /healthz reports the cluster down when none is fresh."""

    name = models.CharField(max_length=200, unique=True)  # host:pid:process name
    started_at = models.DateTimeField(default=timezone.now)
    beaten_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.name} (last beat {self.beaten_at:%H:%M:%S})"


class PendingDeletion(models.Model):
    """A linked record deleted in one system, on its way to the other (syncsmart.engine.deletions):
    pending until confirmed by the source and applied; held by the mass-deletion guard until a
    person confirms or discards it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        HELD = "held", "Held for confirmation"
        CONFIRMED = "confirmed", "Confirmed by a person"
        APPLIED = "applied", "Applied"
        CANCELLED = "cancelled", "Not applied"
        FAILED = "failed", "Failed"

    class Reason(models.TextChoices):
        DELETED = "deleted", "Deleted in the source"
        LEFT_LIST = "left_list", "Left the inclusion list"

    OPEN = (Status.PENDING, Status.HELD, Status.CONFIRMED)

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="pending_deletions")
    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="+")
    source_side = models.CharField(max_length=10, choices=Side.choices)
    source_id = models.CharField(max_length=100)
    target_id = models.CharField(max_length=100)
    policy = models.CharField(max_length=10)
    # Left an inclusion list (the record still exists): confirmed by the list's members, not by deletion.
    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.DELETED)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    message = models.TextField(blank=True)
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    noticed_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["noticed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_mapping", "source_side", "source_id"],
                condition=models.Q(status__in=["pending", "held", "confirmed"]),
                name="one_open_deletion_per_record",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_side} {self.source_id} deleted -> {self.policy} {self.target_id} ({self.status})"


class KeptAfterMerge(models.Model):
    """The other system's record of a HubSpot record merged into a survivor that was linked
    already (syncsmart.engine.flow.merges): its link was dropped and the record kept, unlinked, as
    merges are not synced. It is never created in HubSpot again: that would undo the merge."""

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="+")
    object_mapping = models.ForeignKey("mappings.ObjectMapping", on_delete=models.CASCADE, related_name="+")
    other_id = models.CharField(max_length=100)
    merged_id = models.CharField(max_length=100)  # the HubSpot record merged away
    survivor_id = models.CharField(max_length=100)  # the HubSpot record it was merged into
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object_mapping", "other_id"], name="one_kept_after_merge_per_record")]


class WebhookRegistration(models.Model):
    """The webhooks one side of an integration has registered with its vendor, as last seen
    (syncsmart.engine.webhook_registration)."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        FAILED = "failed", "Failed"
        UNSUPPORTED = "unsupported", "Not possible automatically"
        REMOVED = "removed", "Removed"

    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="webhook_registrations")
    side = models.CharField(max_length=10, choices=Side.choices)
    state = models.CharField(max_length=12, choices=State.choices)
    target = models.CharField(max_length=500, blank=True)
    subscriptions = models.JSONField(default=list, blank=True)  # [{"id", "event", "active"}]
    message = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "side"], name="one_registration_per_side")]

    def __str__(self) -> str:
        return f"{self.integration_id} {self.side} webhooks: {self.state}"


class Alert(models.Model):
    """One incident found by an alert rule (syncsmart.alerts): open while the rule still finds it,
    e-mailed once when it opens and once when it resolves. At most one open alert per (rule, key)."""

    class Rule(models.TextChoices):
        RECONNECT = "reconnect", "Connection needs reconnecting"
        FAILING_RUNS = "failing_runs", "Runs failing repeatedly"
        STUCK_RUN = "stuck_run", "Run stuck"
        RECORD_FAILURES = "record_failures", "Many records failing"
        WEBHOOKS_LOST = "webhooks_lost", "Webhook subscription gone"
        QUOTA = "quota", "Daily API budget running out"

    rule = models.CharField(max_length=20, choices=Rule.choices)
    key = models.CharField(max_length=200)  # what the incident is about, e.g. "integration:12"
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="alerts")
    integration = models.ForeignKey(
        "mappings.Integration", null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified = models.JSONField(default=list, blank=True)  # the addresses the opening mail went to

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "key"], condition=models.Q(resolved_at__isnull=True), name="one_open_alert_per_incident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
