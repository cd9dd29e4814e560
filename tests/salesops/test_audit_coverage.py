"""Every write through a service records an audit event — kept so by reading the services'
source (tests/audit_coverage.py): a new public write without an audit fails here, unless
it is added to NOT_AUDITED below with the reason."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.conf import settings

from tests import audit_coverage
from tests.salesops import audit_samples

# Where the writes live: each app's services (a package counts with its submodules) and the
# other modules services delegate set-based or derived writes to.
SERVICE_MODULES = [
    "salesops.services",
    "salesops.people",
    "pipeline.services",
    "pipeline.bulk",
    "pipeline.flags",
    "pipeline.rule_changes",
    "proposals.services",
    "coaching.services",
    "coaching.cadence",
    "forecasting.services",
    "hiring.services",
    "insights.services",
    "insights.facts",
    "exchange.services",
    "demo.services",
]

# Modules that open a transaction but hold no service writes of their own.
NOT_SERVICE_MODULES = {
    "coaching.selectors.review_queue": "a read: SET LOCAL jit for one query needs a transaction",
    "demo.management.commands.seed_demo": "writes the demo company's made-up history",
    "exchange.deal_import": "each row through pipeline.services, which record the events",
    "hiring.api": "saves and submits a scorecard in one transaction through the services",
    "salesops.api.idempotency": "stores an Idempotency-Key's first response for replays",
    "salesops.cleaning": "save_unique, the helper services save through",
    "salesops.outbox": "delivery bookkeeping of the tasks writes queue (they record events)",
}

# Public writes that record no audit event, each with the reason. Derived data first: the
# periodic jobs that only bring computed state in line with the records.
NOT_AUDITED = {
    # The trail itself.
    "salesops.services.audit_record": "writes the audit event",
    # Bookkeeping, not anyone's change to the company's data.
    "salesops.services.api_key_authenticate": (
        "stamps the key's last use (at most once a minute); the key shows it, and an event "
        "per API request would bury the trail"
    ),
    "salesops.services.idempotency_records_purge": (
        "deletes expired Idempotency-Key replays, a 24-hour cache of responses"
    ),
    "salesops.services.notification_mark_read": "a user's own inbox state",
    "salesops.services.notifications_mark_all_read": "a user's own inbox state",
    "salesops.services.notification_send": (
        "part of the write that notifies, which records its own event"
    ),
    "salesops.services.notifications_send_digest": (
        "delivery bookkeeping: marks notifications emailed"
    ),
    "salesops.people.people_import_lock": "takes a lock; writes nothing",
    "salesops.people.invitations_send": (
        "emails after the commit of the write that invited (people_invite, the people "
        "import, user_create_invited), which records the invitation"
    ),
    "pipeline.flags.refresh_params": "a read: the parameters of a flags refresh",
    "pipeline.rule_changes.record_if_changed": (
        "the stage rules' history of milestone_create/update/delete, which record events"
    ),
    "proposals.services.create_refusal": "a read: why a proposal cannot be created",
    "hiring.services.onboarding.onboarding_start": (
        "part of candidate_hire, in its transaction: hiring.candidate_hired records it"
    ),
    "exchange.services.batch_preview": (
        "writes only the preview's report onto the draft batch; no record changes"
    ),
    # Derived data, recomputed from the records by the beat every few minutes and inside
    # other services' transactions (which record the change that caused it). The rows
    # keep their own times (flags: raised/cleared; snapshots: the week and when taken), so
    # an event per run would repeat them; and the runs' statement counts are held by
    # tests (tests/pipeline/test_flags.py, tests/forecasting/test_services.py).
    "pipeline.flags.flags_refresh": "derived: attention flags, every few minutes",
    "pipeline.services.opportunities.void_qualifications": (
        "a step of opportunity_update and opportunity_advance, which record the change"
    ),
    "coaching.cadence.cadence_refresh": "derived: coaching cadence flags, every few minutes",
    "forecasting.services.snapshots.pipeline_snapshot_take": (
        "derived: the week's pipeline snapshot"
    ),
    "insights.facts.refresh": "derived: behaviour facts of changed deals, every minute",
    "insights.facts.rebuild": "derived: the same facts from scratch (a command)",
}


def test_every_app_services_module_is_checked():
    ours = [
        app.split(".")[0]
        for app in settings.INSTALLED_APPS
        if app.split(".")[0] in audit_coverage.OUR_PACKAGES
    ]
    for app in ours:
        try:
            importlib.import_module(f"{app}.services")
        except ModuleNotFoundError:
            continue
        assert f"{app}.services" in SERVICE_MODULES, f"{app}.services is not checked"


def test_every_module_with_transactions_is_checked_or_said_not_to_hold_services():
    found = audit_coverage.modules_with_transactions(Path(settings.BASE_DIR))
    checked = {module.__name__ for module in audit_coverage.modules_of(SERVICE_MODULES)} | set(
        NOT_SERVICE_MODULES
    )
    unknown = sorted(found - checked)
    assert not unknown, (
        f"Modules that open transactions, not checked for audits: {unknown}. Add them to "
        "SERVICE_MODULES, or to NOT_SERVICE_MODULES with the reason."
    )


def test_every_service_write_records_an_audit_event():
    writes = audit_coverage.write_functions(SERVICE_MODULES)
    assert len(writes) > 100  # the check sees the services at all
    missing = sorted(
        f.qualname
        for f in writes
        if f.qualname not in NOT_AUDITED and not audit_coverage.records_audit(f.function)
    )
    assert not missing, (
        f"Service writes without an audit event: {missing}. Call salesops.services."
        "audit_record (or audit_records) — or add them to NOT_AUDITED with the reason."
    )


def test_the_allowlist_names_only_unaudited_writes():
    """An entry for a function gone, renamed, no longer a write or now audited is stale."""
    writes = {f.qualname: f for f in audit_coverage.write_functions(SERVICE_MODULES)}
    stale = sorted(
        name
        for name in NOT_AUDITED
        if name not in writes or audit_coverage.records_audit(writes[name].function)
    )
    assert not stale, f"NOT_AUDITED entries to remove: {stale}"


# --- the check itself, on samples --------------------------------------------------------

SAMPLES = "tests.salesops.audit_samples"


def _sample_writes() -> dict[str, bool]:
    return {
        f.name: audit_coverage.records_audit(f.function)
        for f in audit_coverage.write_functions([SAMPLES])
    }


def test_the_check_finds_writes_and_their_audits():
    assert _sample_writes() == {
        "team_rename_audited": True,  # audit_record in the body
        "team_rename_through_helper": True,  # in a helper it calls
        "account_delete_delegated": True,  # in another module's service, through an alias
        "teams_bulk_audited": True,  # AuditEvent built for a bulk insert
        "team_archive": False,  # @transaction.atomic, no audit
        "team_tidy": False,  # a save one helper down, no audit
    }


@pytest.mark.parametrize(
    "name", ["team_names", "can_create_team", "_private_write", "audit_record", "Team"]
)
def test_the_check_leaves_out_reads_predicates_private_and_imported_names(name):
    assert hasattr(audit_samples, name)
    assert name not in _sample_writes()
