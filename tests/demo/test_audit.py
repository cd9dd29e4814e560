"""What seed_demo writes through the services is recorded as the command's: channel
"command", origin "seed_demo"."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from salesops.audit_context import Channel
from salesops.models import AuditEvent
from tests.clock import default_clock

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(default_clock(), tick=False)]


def test_the_demos_events_are_the_commands():
    call_command("seed_demo", stdout=StringIO())
    paths = set(AuditEvent.objects.values_list("channel", "origin").distinct())
    assert paths == {(Channel.COMMAND, "seed_demo")}
    assert AuditEvent.objects.count() > 10
