from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.text import slugify


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ONBOARDING = "onboarding", "Onboarding"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    hubspot_portal_id = models.CharField("HubSpot portal id", max_length=32, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def unique_slug_for(cls, name: str) -> str:
        base = slugify(name)[:60] or "tenant"
        slug, n = base, 1
        while cls.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        VIEWER = "viewer", "Viewer (read-only)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ADMIN)
    # Owners and admins get alert e-mails (syncsmart.alerts) unless they switch them off here.
    alert_emails = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_user_and_tenant")]
        ordering = ["tenant__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class AuditLog(models.Model):
    """Who changed what, when, in which tenant. `changes` never holds a secret's value."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who, kept when the user is deleted.")
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    @property
    def action_label(self) -> str:
        """The action in words for the customer's audit page ("field_mapping.deleted" -> "Field mapping deleted")."""
        words = self.action.replace(".", " ").replace("_", " ").strip()
        for internal, shown in AUDIT_WORDS.items():
            words = words.replace(internal, shown)
        return words[:1].upper() + words[1:]


# Words whose spelling in an action name is not how a customer reads them.
AUDIT_WORDS = {"api token": "API token", "go live": "go-live", "hubspot": "HubSpot", "run ": "sync run "}


class OnboardingProgress(models.Model):
    """Where a tenant is in the installer wizard, and every non-secret answer given so far.

    Secrets never land here: credentials go straight into the encrypted Connection rows this
    points to, so going back to a step shows what was typed except the secret itself.
    """

    class Step(models.TextChoices):
        ACCOUNT = "account", "Your account"
        HUBSPOT = "hubspot", "Connect HubSpot"
        SYSTEM = "system", "Choose the other system"
        CREDENTIALS = "credentials", "Connect it"
        OBJECTS = "objects", "What to sync"
        FINISH = "finish", "Finish"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="onboarding")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The furthest step the customer may open; earlier steps stay reachable for going back.
    reached = models.CharField(max_length=20, choices=Step.choices, default=Step.HUBSPOT)
    # {"system": "connectwise", "environment": "sandbox", "config": {...}, "objects": [...], "options": {...}}
    answers = models.JSONField(default=dict, blank=True)
    hubspot_connection = models.ForeignKey(
        "connectors.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    other_connection = models.ForeignKey(
        "connectors.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    integration = models.ForeignKey("mappings.Integration", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant} onboarding ({self.reached})"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class ApiToken(models.Model):
    """A tenant's key to the REST API, acting with one role (admin = read-write, viewer = read-only).

    Only a SHA-256 of the token is stored: the token is 256 random bits, so a plain hash is
    the standard, sufficient protection (no salt or slow hash is needed against guessing).
    The full token is shown once, at creation; `prefix` identifies it in lists afterwards.
    """

    PREFIX = "ss_"
    ROLE_CHOICES = [(Membership.Role.ADMIN.value, "Read and write"), (Membership.Role.VIEWER.value, "Read only")]

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses this token, e.g. “Reporting job”.")
    role = models.CharField(max_length=10, choices=ROLE_CHOICES, default=Membership.Role.VIEWER.value)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.role == Membership.Role.ADMIN


class GoLiveSwitch(models.Model):
    """One guided sandbox -> production switch of an integration (see mappings/go_live.py).

    Each step commits together with its entry in `steps_done`, so an interrupted switch knows
    exactly where it stopped and can be resumed or rolled back; `snapshot` keeps what the
    rollback puts back (the sandbox connection, switch and test-mode state, links, cursors,
    deferred and inbox rows, mappings before a re-install). Snapshots hold no secrets.
    """

    class Status(models.TextChoices):
        PREPARING = "preparing", "Preparing (production connection not switched yet)"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        ROLLED_BACK = "rolled_back", "Rolled back"

    class Mappings(models.TextChoices):
        KEEP = "keep", "Keep my current mappings"
        REINSTALL = "reinstall", "Re-install the default mappings"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="go_live_switches")
    integration = models.ForeignKey("mappings.Integration", on_delete=models.CASCADE, related_name="go_live_switches")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sandbox_connection = models.ForeignKey(
        "connectors.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    production_connection = models.ForeignKey(
        "connectors.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mappings = models.CharField(max_length=10, choices=Mappings.choices, default=Mappings.KEEP)
    keep_test_mode = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PREPARING, db_index=True)
    steps_done = models.JSONField(default=list, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    # While true the integration's webhook endpoints must not take new events (see go_live.webhook_intake_paused).
    webhooks_paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Go-live of integration {self.integration_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PREPARING, self.Status.IN_PROGRESS)


class Invitation(models.Model):
    """An owner's invitation for an e-mail address to join a tenant with a role.

    The e-mailed link carries this row's id signed with django.core.signing (TimestampSigner,
    salted per purpose) and expires after INVITATION_MAX_AGE; the row makes the link single-use
    and revocable, which a signature alone cannot."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.ADMIN)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.tenant} ({self.role})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class PortalApproval(models.Model):
    """A tenant connected a HubSpot portal another tenant already syncs: staff decide whether it may.

    Two workspaces syncing one portal would each write the same records, so the installer cannot
    finish until the staff console approves (see tenants/onboarding/views.finish_problems)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="portal_approvals")
    portal_id = models.CharField("HubSpot portal id", max_length=32)
    other_tenants = models.JSONField(default=list, blank=True, help_text="Names of the tenants already using the portal.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "portal_id"], name="one_portal_approval_per_tenant_and_portal")]

    def __str__(self) -> str:
        return f"Portal {self.portal_id} for {self.tenant} ({self.status})"


class SignUpRequest(models.Model):
    """A sign-up waiting for its e-mail address to be confirmed (tenants/signup.py).

    No account exists until the address's owner opens the e-mailed link, so nobody can claim an
    address they do not read, and the sign-up page answers the same whether or not the address
    already has an account. The e-mailed link carries this row's id signed with
    django.core.signing (salted, timestamped, SIGN_UP_MAX_AGE); confirming deletes the row, so a
    link works once."""

    email = models.EmailField()
    company_name = models.CharField(max_length=200)
    password = models.CharField(max_length=128)  # a hash (make_password), never the password
    next_url = models.CharField(max_length=500, blank=True)  # a local path where the confirmed person continues
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Sign-up of {self.email} waiting for confirmation"
