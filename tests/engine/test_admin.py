"""Staff console pages over the engine's state load and are read-only."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from mappings.models import FieldMapping, Integration, ObjectMapping
from syncsmart.models import DeferredRecord, InboxItem, RecordEvent, RecordLink, SyncCursor, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    user = get_user_model().objects.create_superuser("staff@syncsmart.example", "staff@syncsmart.example", "pw-staff-123456")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_engine_state_pages_load_for_staff_and_offer_no_edits(cw_pair, staff_client):
    company = cw_pair.other.add_company("Globex Corp", website="globex.example.com")
    cw_pair.other.add_contact("Ann", "Lee", company_id=company["id"], email="ann@globex.example.com")
    cw_pair.sync()
    for model in (SyncRun, RecordEvent, RecordLink, InboxItem, DeferredRecord, SyncCursor, Integration, ObjectMapping):
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert staff_client.get(url).status_code == 200, url
    for model in (SyncRun, RecordEvent, RecordLink):
        assert staff_client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")).status_code == 403
    run = SyncRun.objects.first()
    assert staff_client.get(reverse("admin:syncsmart_syncrun_change", args=[run.pk])).status_code == 200
    assert FieldMapping.objects.exists()
