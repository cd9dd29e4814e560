"""Every audit event says by which path it came (salesops.audit_context): a page, the API
with a session or a key, an import, a task, a command — and a context never outlives its
request or task."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from hiring import tasks as hiring_tasks
from salesops import audit_context
from salesops.api.authentication import ApiKeyAuthentication
from salesops.audit_context import SYSTEM, Channel
from salesops.models import ApiKey, AuditEvent
from salesops.services import api_key_create, audit_record
from salesops.tasking import reliable_task
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def only(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


def test_a_page_request_records_page_events_with_the_request(client, rep):
    client.force_login(rep)
    response = client.post("/settings/api-keys/", {"name": "CRM sync", "scopes": ["read"]})
    assert response.status_code == 200
    event = only("api_key.created")
    assert (event.channel, event.api_key_id) == (Channel.PAGE, None)
    assert event.origin == "POST /settings/api-keys/"
    # The request's id, as the response said it.
    assert event.request_id and event.request_id == response["X-Request-ID"]
    assert audit_context.current() == SYSTEM


def test_a_request_id_sent_by_the_client_is_kept_when_it_is_plain(client, rep):
    client.force_login(rep)
    client.post(
        "/settings/api-keys/",
        {"name": "CRM sync", "scopes": ["read"]},
        headers={"X-Request-ID": "req-42.a"},
    )
    assert only("api_key.created").request_id == "req-42.a"
    client.post(
        "/settings/api-keys/",
        {"name": "Other", "scopes": ["read"]},
        headers={"X-Request-ID": "<script>" * 20},
    )
    made_up = AuditEvent.objects.filter(action="api_key.created").order_by("-id").first()
    assert len(made_up.request_id) == 32 and made_up.request_id.isalnum()


def _create_deal(client: APIClient) -> None:
    response = client.post(
        "/api/v1/opportunities/",
        {
            "name": "API deal",
            "account": AccountFactory().pk,
            "amount": "10",
            "close_date": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_the_api_with_a_session_records_api_events(rep, pipeline):
    client = APIClient()
    client.force_login(rep)
    _create_deal(client)
    event = only("opportunity.created")
    assert (event.channel, event.api_key_id) == (Channel.API, None)
    assert event.origin == "POST /api/v1/opportunities/"
    assert event.actor == rep


def test_the_api_with_a_key_records_the_key(rep, pipeline):
    key, raw = api_key_create(user=rep, name="Zapier", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    _create_deal(client)
    event = only("opportunity.created")
    assert (event.channel, event.api_key) == (Channel.API_KEY, key)
    assert event.actor == rep and event.request_id
    # The key's own creation (a direct call, outside any request) is a system event.
    assert only("api_key.created").channel == Channel.SYSTEM
    assert audit_context.current() == SYSTEM


def test_a_key_authenticated_outside_a_request_leaves_no_context_behind(rep):
    _, raw = api_key_create(user=rep, name="Unit", scopes=["read"])
    request = RequestFactory().get("/api/v1/opportunities/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    from rest_framework.request import Request

    ApiKeyAuthentication().authenticate(Request(request))
    assert audit_context.current() == SYSTEM


ACCOUNTS_CSV = b"Account ID,Account Name\n001A,Acme\n001B,Globex\n"


def test_an_import_records_import_events_inside_the_request_that_ran_it(leader):
    key, raw = api_key_create(user=leader, name="Loader", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    upload = SimpleUploadedFile("accounts.csv", ACCOUNTS_CSV, content_type="text/csv")
    created = client.post(
        "/api/v1/imports/", {"kind": "accounts", "source": "sf", "file": upload},
        format="multipart",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    batch = created.json()["id"]
    ran = client.post(f"/api/v1/imports/{batch}/run/")
    assert ran.status_code == 200 and ran.json()["status"] == "done", ran.json()
    uploaded = only("import.uploaded")
    assert (uploaded.channel, uploaded.api_key) == (Channel.API_KEY, key)
    for action in ("account.imported", "import.done"):
        event = only(action)
        assert (event.channel, event.origin) == (Channel.IMPORT, f"import #{batch}")
        # Still that request's, with its key.
        assert (event.request_id, event.api_key) == (ran["X-Request-ID"], key)
    assert only("account.imported").data == {"source": "sf", "count": 2}


def test_an_import_from_the_command_line(leader, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(ACCOUNTS_CSV)
    call_command(
        "import_csv", "accounts", str(path), "--source", "sf", "--user", "leader",
        stdout=mock.Mock(), stderr=mock.Mock(),
    )  # fmt: skip
    for action in ("import.uploaded", "import.configured"):
        assert (only(action).channel, only(action).origin) == (Channel.COMMAND, "import_csv")
    batch = only("import.done").target_id
    for action in ("account.imported", "import.done"):
        assert (only(action).channel, only(action).origin) == (Channel.IMPORT, f"import #{batch}")


@reliable_task(name="tests.audit_probe")
def audit_probe(fail: bool = False) -> int:
    event = audit_record(actor=None, action="test.probed")
    if fail:
        raise ValueError("refused")
    return event.pk


def test_a_task_records_task_events_named_after_it():
    pk = audit_probe.apply().get()
    event = AuditEvent.objects.get(pk=pk)
    assert (event.channel, event.origin, event.request_id) == (
        Channel.TASK,
        "tests.audit_probe",
        "",
    )
    assert audit_context.current() == SYSTEM
    # Called directly too (a beat's eager call, a test).
    assert AuditEvent.objects.get(pk=audit_probe()).channel == Channel.TASK


def test_a_failing_task_leaves_no_context_behind():
    with pytest.raises(ValueError):
        audit_probe(fail=True)
    assert audit_context.current() == SYSTEM


def test_a_real_task_of_the_app_records_task_events(recruiter_with_old_rejection):
    assert hiring_tasks.anonymise_candidates.apply().get() == {"anonymised": 1}
    event = only("hiring.candidates_anonymised")
    assert (event.channel, event.origin) == (Channel.TASK, "hiring.anonymise_candidates")
    assert (event.actor, event.data) == (None, {"count": 1})


@pytest.fixture
def recruiter_with_old_rejection(admin_user, team_a, manager):
    from hiring import services as hiring
    from hiring.models import Candidate

    template = hiring.template_create(actor=admin_user, name="AE")
    hiring.template_attribute_add(
        actor=admin_user, template_id=template.pk, category="aptitude", name="Grit"
    )
    position = hiring.position_create(
        actor=admin_user, title="AE", team=team_a.pk, hiring_manager=manager.pk,
        template=template.pk,
    )  # fmt: skip
    candidate = hiring.candidate_create(
        actor=admin_user, position_id=position.pk, name="Old Applicant", email="old@example.com"
    )
    Candidate.objects.filter(pk=candidate.pk).update(
        stage="rejected",
        stage_reason="Not a fit",
        stage_changed_at=timezone.now() - dt.timedelta(days=3650),
    )
    return admin_user


def test_a_command_records_command_events_named_after_it(rep):
    call_command("create_api_key", "--user", "rep", "--scopes", "read", stdout=mock.Mock())
    event = only("api_key.created")
    assert (event.channel, event.origin) == (Channel.COMMAND, "create_api_key")
    assert audit_context.current() == SYSTEM


def test_the_refresh_command_and_seed_like_commands_bind_the_command_channel(rep, pipeline):
    seen = []
    with mock.patch(
        "pipeline.management.commands.refresh_flags.flags_refresh",
        side_effect=lambda **kw: (
            seen.append(audit_context.current())
            or mock.Mock(raised=0, cleared=0, updated=0, notified=0, checked=0, full=False)
        ),
    ):
        call_command("refresh_flags", stdout=mock.Mock())
    assert [(c.channel, c.origin) for c in seen] == [(Channel.COMMAND, "refresh_flags")]


def test_outside_any_path_events_are_system_events(rep):
    event = audit_record(actor=rep, action="test.direct")
    assert (event.channel, event.api_key_id, event.request_id, event.origin) == (
        Channel.SYSTEM, None, "", "",
    )  # fmt: skip


def test_an_inner_path_keeps_the_outer_request_and_key_and_gives_them_back():
    with audit_context.bound(Channel.API, request_id="r1", origin="POST /x"):
        audit_context.use_api_key(7)
        with audit_context.bound(Channel.IMPORT, origin="import #3") as inner:
            assert (inner.channel, inner.request_id, inner.api_key_id) == (
                Channel.IMPORT, "r1", 7,
            )  # fmt: skip
        assert audit_context.current().channel == Channel.API_KEY
    assert audit_context.current() == SYSTEM


def test_a_revoked_or_deleted_key_keeps_or_clears_its_events(rep):
    key, _ = api_key_create(user=rep, name="Gone soon", scopes=["read"])
    with audit_context.bound(Channel.API):
        audit_context.use_api_key(key.pk)
        event = audit_record(actor=rep, action="test.keyed")
    ApiKey.objects.filter(pk=key.pk).delete()
    event.refresh_from_db()
    assert (event.channel, event.api_key_id) == (Channel.API_KEY, None)
