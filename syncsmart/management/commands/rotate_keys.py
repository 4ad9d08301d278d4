"""Re-encrypt every stored secret under the newest key in SYNCSMART_ENCRYPTION_KEYS.

Each row is rewritten on its own with a compare-and-set on the old ciphertext, so the command
can be interrupted at any moment and re-run: rows already under the newest key are skipped.
"""

from django.apps import apps
from django.core.management.base import BaseCommand

from syncsmart.core import crypto
from syncsmart.core.fields import associated_data, encrypted_fields


def rotate_model(model, ring: crypto.Keyring, counts: dict[str, int], out=None) -> None:
    fields = encrypted_fields(model)
    if not fields:
        return
    qs = model._default_manager.all().only("pk", *[f.attname for f in fields]).order_by("pk")
    for instance in qs.iterator(chunk_size=500):
        for field in fields:
            stored = instance.__dict__.get(field.attname)
            if not stored:
                continue
            key_id = crypto.key_id_of(stored)
            if key_id == ring.current_id:
                counts["current"] += 1
                continue
            ad = associated_data(instance, field.name)
            try:
                plaintext = crypto.decrypt(stored, ad, ring)
            except crypto.DecryptionError as exc:
                counts["failed"] += 1
                if out:
                    out.write(f"cannot rotate {model._meta.label}.{field.name} of row {instance.pk}: {exc}\n")
                continue
            fresh = crypto.encrypt(plaintext, ad, ring)
            updated = model._default_manager.filter(pk=instance.pk, **{field.attname: str(stored)}).update(
                **{field.attname: fresh}
            )
            counts["rotated" if updated else "changed_meanwhile"] += updated or 1


def rotate_all(out=None) -> dict[str, int]:
    ring = crypto.keyring()
    counts = {"rotated": 0, "current": 0, "failed": 0, "changed_meanwhile": 0}
    for model in apps.get_models():
        rotate_model(model, ring, counts, out)
    return counts


class Command(BaseCommand):
    help = "Re-encrypt every secret under the newest encryption key (safe to interrupt and re-run)."

    def handle(self, *args, **options):
        counts = rotate_all(self.stderr)
        ring = crypto.keyring()
        self.stdout.write(
            f"newest key {ring.current_id}: {counts['rotated']} rotated, {counts['current']} already current, "
            f"{counts['failed']} failed, {counts['changed_meanwhile']} changed meanwhile (re-run to finish)"
        )
        if counts["failed"]:
            raise SystemExit(1)
