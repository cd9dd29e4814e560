"""Onboarding templates: recruiters edit them (services: every refusal changes nothing), one
is the default a hire's plan is copied from, a plan already started never changes with its
template; and their pages (typed values kept with the field errors, 403 for everyone but
recruiters and administrators, a fixed query count)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import IntegrityError, transaction

from hiring import services
from hiring.models import (
    Candidate,
    OnboardingPlan,
    OnboardingTask,
    OnboardingTemplate,
    OnboardingTemplateTask,
)
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent

# Every test here runs on this clock: a plan's due dates are counted from a start date.
pytestmark = pytest.mark.time_machine(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC), tick=False)

SEEDED = "New account executive — 30/60/90 days"  # hiring/migrations/0003


def state() -> tuple[list[tuple], list[tuple], int]:
    """Every template, every template task, and the number of audit events: what a refusal
    must leave as it was."""
    return (
        list(OnboardingTemplate.objects.order_by("pk").values_list()),
        list(OnboardingTemplateTask.objects.order_by("pk").values_list()),
        AuditEvent.objects.count(),
    )


def plan_tasks(plan: OnboardingPlan) -> list[tuple]:
    return list(
        plan.tasks.order_by("pk").values_list(
            "kind", "title", "description", "due_on", "manager_signs_off"
        )
    )


@pytest.fixture
def seeded(db) -> OnboardingTemplate:
    return OnboardingTemplate.objects.get(name=SEEDED)


@pytest.fixture
def ramp_plan(recruiter) -> OnboardingTemplate:
    template = services.onboarding_template_create(
        actor=recruiter, name="SDR ramp", description="Calls first."
    )
    for kind, title, day, signs in [
        ("product", "Product basics", 2, False),
        ("shadow", "Shadow ten calls", 40, True),
        ("coaching", "Quarter review", 90, True),
        ("other", "First-year review", 200, True),
    ]:
        services.onboarding_template_task_add(
            actor=recruiter, template_id=template.pk, kind=kind, title=title, due_day=day,
            manager_signs_off=signs,
        )  # fmt: skip
    return template


# --- the model and the migration ----------------------------------------------------------


def test_the_seeded_template_is_the_default_and_only_one_can_be(seeded):
    assert list(OnboardingTemplate.objects.filter(is_default=True)) == [seeded]
    other = OnboardingTemplate.objects.create(name="Other")
    other.is_default = True
    with pytest.raises(IntegrityError), transaction.atomic():
        other.save(update_fields=["is_default"])
    assert list(OnboardingTemplate.objects.filter(is_default=True)) == [seeded]


# --- templates -----------------------------------------------------------------------------


def test_a_recruiter_creates_a_template_and_adds_its_tasks(recruiter):
    template = services.onboarding_template_create(
        actor=recruiter, name="  SDR ramp ", description="Calls first."
    )
    task = services.onboarding_template_task_add(
        actor=recruiter, template_id=str(template.pk), kind="shadow", title=" Shadow calls ",
        description="Ten of them.", due_day="14", manager_signs_off=True,
    )  # fmt: skip
    stored = OnboardingTemplate.objects.get(pk=template.pk)
    assert (stored.name, stored.description, stored.is_default) == (
        "SDR ramp", "Calls first.", False,
    )  # fmt: skip
    assert list(stored.tasks.values_list("kind", "title", "description", "due_day",
                                         "manager_signs_off")) == [
        ("shadow", "Shadow calls", "Ten of them.", 14, True)
    ]  # fmt: skip
    assert list(
        AuditEvent.objects.filter(actor=recruiter).order_by("pk").values_list("action", "target_id")
    ) == [
        ("hiring.onboarding_template_created", template.pk),
        ("hiring.onboarding_template_task_added", task.pk),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": SEEDED.upper()}, "name"),  # taken, whatever the case
        ({"name": "Fine", "description": "x" * 10_001}, "description"),
    ],
)
def test_creating_a_template_is_refused_without_a_good_name(recruiter, seeded, kwargs, field):
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        services.onboarding_template_create(actor=recruiter, **kwargs)
    assert field in refused.value.details
    assert state() == before


EDITS = [
    lambda who, t, task: services.onboarding_template_create(actor=who, name="Mine"),
    lambda who, t, task: services.onboarding_template_update(
        actor=who, template_id=t.pk, name="Mine"
    ),
    lambda who, t, task: services.onboarding_template_delete(actor=who, template_id=t.pk),
    lambda who, t, task: services.onboarding_template_task_add(
        actor=who, template_id=t.pk, kind="other", title="Mine", due_day=1
    ),
    lambda who, t, task: services.onboarding_template_task_update(
        actor=who, task_id=task.pk, title="Mine"
    ),
    lambda who, t, task: services.onboarding_template_task_remove(actor=who, task_id=task.pk),
]


@pytest.mark.parametrize("role", ["rep", "manager", "leader"])
def test_only_recruiters_and_administrators_edit_templates(request, role, seeded):
    who = request.getfixturevalue(role)
    task = seeded.tasks.first()
    before = state()
    for edit in EDITS:
        with pytest.raises(PermissionDenied):
            edit(who, seeded, task)
    assert state() == before


def test_a_template_is_renamed_and_redescribed(recruiter, ramp_plan):
    services.onboarding_template_update(
        actor=recruiter, template_id=ramp_plan.pk, name="SDR plan", description=""
    )
    stored = OnboardingTemplate.objects.get(pk=ramp_plan.pk)
    assert (stored.name, stored.description, stored.is_default) == ("SDR plan", "", False)
    event = AuditEvent.objects.filter(action="hiring.onboarding_template_changed").get()
    assert event.data == {"fields": ["description", "name"]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": SEEDED}, "name"),
        ({"is_default": "yes"}, "is_default"),  # a bool, parsed at the edge
        ({"tasks": []}, "tasks"),
        ({"pk": 1}, "pk"),
    ],
)
def test_a_template_change_is_refused_and_changes_nothing(recruiter, ramp_plan, changes, field):
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        services.onboarding_template_update(actor=recruiter, template_id=ramp_plan.pk, **changes)
    assert field in refused.value.details
    assert state() == before


@pytest.mark.parametrize("template_id", [0, 999_999, "abc", None, "1e3"])
def test_an_unknown_template_is_not_found(recruiter, template_id):
    before = state()
    with pytest.raises(NotFound):
        services.onboarding_template_update(actor=recruiter, template_id=template_id, name="X")
    with pytest.raises(NotFound):
        services.onboarding_template_delete(actor=recruiter, template_id=template_id)
    with pytest.raises(NotFound):
        services.onboarding_template_task_add(
            actor=recruiter, template_id=template_id, kind="other", title="X", due_day=1
        )
    assert state() == before


def test_making_a_template_the_default_undefaults_the_other(recruiter, seeded, ramp_plan):
    services.onboarding_template_update(actor=recruiter, template_id=ramp_plan.pk, is_default=True)
    assert list(OnboardingTemplate.objects.filter(is_default=True)) == [ramp_plan]
    event = AuditEvent.objects.filter(action="hiring.onboarding_template_changed").get()
    assert event.data == {"fields": ["is_default"], "replaced_default": [seeded.pk]}

    # Again on the default itself: nothing else moves.
    services.onboarding_template_update(actor=recruiter, template_id=ramp_plan.pk, is_default=True)
    assert list(OnboardingTemplate.objects.filter(is_default=True)) == [ramp_plan]

    # Back: the seeded one is the default again, the other is not.
    services.onboarding_template_update(actor=recruiter, template_id=seeded.pk, is_default=True)
    assert list(OnboardingTemplate.objects.filter(is_default=True)) == [seeded]


def test_with_no_default_a_hire_gets_the_first_template_by_name(recruiter, seeded, ramp_plan, rep):
    services.onboarding_template_update(actor=recruiter, template_id=seeded.pk, is_default=False)
    assert not OnboardingTemplate.objects.filter(is_default=True).exists()
    plan = services.onboarding_start(rep=rep, started_on=dt.date(2027, 1, 4))
    first = OnboardingTemplate.objects.order_by("name").first()
    assert first.name == SEEDED  # "New account…" before "SDR ramp"
    assert plan.template == first and plan.tasks.count() == first.tasks.count()


def test_the_default_template_cannot_be_deleted(recruiter, seeded):
    before = state()
    with pytest.raises(Conflict) as refused:
        services.onboarding_template_delete(actor=recruiter, template_id=seeded.pk)
    assert refused.value.code == "onboarding_template_default"
    assert state() == before


def test_deleting_a_template_takes_its_tasks_and_leaves_the_plans(recruiter, ramp_plan, rep):
    services.onboarding_template_update(actor=recruiter, template_id=ramp_plan.pk, is_default=True)
    plan = services.onboarding_start(rep=rep, started_on=dt.date(2027, 1, 4))
    copied = plan_tasks(plan)
    services.onboarding_template_update(
        actor=recruiter, template_id=OnboardingTemplate.objects.get(name=SEEDED).pk,
        is_default=True,
    )  # fmt: skip
    services.onboarding_template_delete(actor=recruiter, template_id=ramp_plan.pk)
    assert not OnboardingTemplate.objects.filter(pk=ramp_plan.pk).exists()
    assert not OnboardingTemplateTask.objects.filter(template_id=ramp_plan.pk).exists()
    plan.refresh_from_db()
    assert plan.template is None and plan_tasks(plan) == copied and len(copied) == 4
    event = AuditEvent.objects.get(action="hiring.onboarding_template_deleted")
    assert (event.target_id, event.data) == (ramp_plan.pk, {"name": "SDR ramp"})


# --- tasks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "party"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"due_day": ""}, "due_day"),
        ({"due_day": "soon"}, "due_day"),
        ({"due_day": -1}, "due_day"),
        ({"due_day": 366}, "due_day"),
        ({"due_day": "2.5"}, "due_day"),
        ({"manager_signs_off": "on"}, "manager_signs_off"),
        ({"description": "x" * 10_001}, "description"),
    ],
)
def test_a_bad_task_is_refused_and_changes_nothing(recruiter, ramp_plan, fields, field):
    task = ramp_plan.tasks.first()
    good = {"kind": "product", "title": "Demo", "due_day": 5}
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        services.onboarding_template_task_add(
            actor=recruiter, template_id=ramp_plan.pk, **(good | fields)
        )
    assert list(refused.value.details) == [field]
    with pytest.raises(ValidationFailed) as refused:
        services.onboarding_template_task_update(actor=recruiter, task_id=task.pk, **fields)
    assert list(refused.value.details) == [field]
    assert state() == before


def test_due_days_run_from_0_to_365(recruiter, ramp_plan):
    for day in (0, 365):
        services.onboarding_template_task_add(
            actor=recruiter, template_id=ramp_plan.pk, kind="other", title=f"Day {day}",
            due_day=day,
        )  # fmt: skip
    assert {0, 365} <= set(ramp_plan.tasks.values_list("due_day", flat=True))


def test_a_task_is_changed_and_removed(recruiter, ramp_plan):
    task = ramp_plan.tasks.get(title="Shadow ten calls")
    services.onboarding_template_task_update(
        actor=recruiter, task_id=task.pk, kind="coaching", title="Shadow five calls",
        description="With your manager.", due_day=35, manager_signs_off=False,
    )  # fmt: skip
    stored = OnboardingTemplateTask.objects.get(pk=task.pk)
    assert (stored.kind, stored.title, stored.description, stored.due_day,
            stored.manager_signs_off) == (
        "coaching", "Shadow five calls", "With your manager.", 35, False,
    )  # fmt: skip
    assert stored.template_id == ramp_plan.pk
    services.onboarding_template_task_remove(actor=recruiter, task_id=task.pk)
    assert not OnboardingTemplateTask.objects.filter(pk=task.pk).exists()
    assert ramp_plan.tasks.count() == 3
    assert list(
        AuditEvent.objects.filter(target_id=task.pk, action__contains="task_")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "hiring.onboarding_template_task_added",
        "hiring.onboarding_template_task_changed",
        "hiring.onboarding_template_task_removed",
    ]


def test_an_unknown_task_is_not_found(recruiter):
    before = state()
    with pytest.raises(NotFound):
        services.onboarding_template_task_update(actor=recruiter, task_id=999_999, title="X")
    with pytest.raises(NotFound):
        services.onboarding_template_task_remove(actor=recruiter, task_id="nope")
    with pytest.raises(ValidationFailed):  # unknown fields are refused before the lookup
        services.onboarding_template_task_update(actor=recruiter, task_id=999_999, template=1)
    assert state() == before


# --- plans: the default at the hire, and never changed afterwards --------------------------


def test_a_started_plan_is_unchanged_by_template_edits(recruiter, seeded, ramp_plan, rep):
    plan = services.onboarding_start(rep=rep, started_on=dt.date(2027, 1, 4))
    assert plan.template == seeded
    copied = plan_tasks(plan)
    assert len(copied) == 9 and copied[0][3] == dt.date(2027, 1, 7)  # day 3
    first, last = seeded.tasks.order_by("due_day", "pk")[0], seeded.tasks.order_by("due_day")[8]
    services.onboarding_template_update(
        actor=recruiter, template_id=seeded.pk, name="Renamed", description="New words"
    )
    services.onboarding_template_task_update(
        actor=recruiter, task_id=first.pk, title="Reworded", due_day=1, kind="other",
        manager_signs_off=True,
    )  # fmt: skip
    services.onboarding_template_task_remove(actor=recruiter, task_id=last.pk)
    services.onboarding_template_task_add(
        actor=recruiter, template_id=seeded.pk, kind="coaching", title="New step", due_day=4
    )
    services.onboarding_template_update(actor=recruiter, template_id=ramp_plan.pk, is_default=True)
    services.onboarding_template_delete(actor=recruiter, template_id=seeded.pk)
    plan.refresh_from_db()
    assert plan_tasks(plan) == copied
    assert OnboardingTask.objects.filter(plan=plan).count() == 9


def test_a_hire_gets_a_copy_of_the_default_template(candidate, manager, recruiter, ramp_plan):
    services.onboarding_template_update(actor=recruiter, template_id=ramp_plan.pk, is_default=True)
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    services.candidate_hire(
        actor=manager, candidate_id=candidate.pk, started_on="2027-01-04", reason="Yes"
    )
    hired = Candidate.objects.get(pk=candidate.pk).hired_user
    plan = OnboardingPlan.objects.get(rep=hired)
    assert plan.template == ramp_plan
    assert [(t[1], t[3], t[4]) for t in plan_tasks(plan)] == [
        ("Product basics", dt.date(2027, 1, 6), False),
        ("Shadow ten calls", dt.date(2027, 2, 13), True),
        ("Quarter review", dt.date(2027, 4, 4), True),
        ("First-year review", dt.date(2027, 7, 23), True),
    ]


# --- the pages -----------------------------------------------------------------------------

LIST = "/hiring/onboarding-templates/"


def detail(template: OnboardingTemplate) -> str:
    return f"/hiring/onboarding-templates/{template.pk}/"


def spreads(html: str) -> list[str]:
    """Each template's 30/60/90 spread on the list, as read."""
    return [
        re.sub(r"<[^>]+>", "", found)
        for found in re.findall(r'data-testid="spread">(.*?)</div>', html)
    ]


def test_the_list_shows_each_template_with_its_default_count_and_spread(
    client, recruiter, seeded, ramp_plan
):
    client.force_login(recruiter)
    page = client.get(LIST)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index(SEEDED) < html.index("SDR ramp")  # the default first
    assert html.count('data-testid="default-badge"') == 1
    assert "9 tasks" in html and "4 tasks" in html
    # The seeded plan: days 3–30 (6 tasks), 45 and 60 (2), 90 (1), nothing later.
    assert spreads(html) == [
        "First 30 days: 6 · Days 31–60: 2 · Days 61–90: 1",
        "First 30 days: 1 · Days 31–60: 1 · Days 61–90: 1 · Later: 1",
    ]
    assert 'data-testid="no-default"' not in html


def test_a_template_is_created_from_the_list_and_a_refusal_keeps_what_was_typed(
    client, recruiter, seeded
):
    client.force_login(recruiter)
    before = state()
    refused = client.post(LIST, {"name": SEEDED.lower(), "description": "Typed words"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "An onboarding template with this name exists." in html and "Typed words" in html
    assert f'value="{SEEDED.lower()}"' in html
    assert state() == before
    created = client.post(LIST, {"name": "SDR ramp", "description": "Calls first."})
    template = OnboardingTemplate.objects.get(name="SDR ramp")
    assert created.status_code == 302 and created.url == detail(template)
    assert (template.description, template.is_default) == ("Calls first.", False)


def test_the_template_page_groups_tasks_by_period_in_due_day_order(client, recruiter, ramp_plan):
    services.onboarding_template_task_add(
        actor=recruiter, template_id=ramp_plan.pk, kind="other", title="Day zero", due_day=0
    )
    client.force_login(recruiter)
    page = client.get(detail(ramp_plan))
    html = page.content.decode()
    assert page.status_code == 200
    order = [
        *("First 30 days", "Day zero", "Product basics"),
        *("Days 31–60", "Shadow ten calls"),
        *("Days 61–90", "Quarter review"),
        *("Later", "First-year review"),
        "Add a task",
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    assert html.count('data-testid="onboarding-template-task"') == 5
    assert html.count('data-testid="task-remove"') == 5
    assert 'data-testid="template-delete"' in html  # not the default: it may go


def test_the_template_is_edited_on_its_page(client, recruiter, seeded, ramp_plan):
    client.force_login(recruiter)
    before = state()
    refused = client.post(
        detail(ramp_plan), {"name": SEEDED, "description": "Typed words", "is_default": "on"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "An onboarding template with this name exists." in html
    assert "Typed words" in html and 'name="is_default" value="on" checked' in html
    assert state() == before
    saved = client.post(
        detail(ramp_plan), {"name": "SDR plan", "description": "", "is_default": "on"}
    )
    assert saved.status_code == 302 and saved.url == detail(ramp_plan)
    stored = OnboardingTemplate.objects.get(pk=ramp_plan.pk)
    assert (stored.name, stored.is_default) == ("SDR plan", True)
    assert not OnboardingTemplate.objects.get(pk=seeded.pk).is_default
    # An unticked box stops it being the default; the list then says who new hires get.
    client.post(detail(ramp_plan), {"name": "SDR plan", "description": ""})
    assert not OnboardingTemplate.objects.filter(is_default=True).exists()
    assert 'data-testid="no-default"' in client.get(LIST).content.decode()


def test_a_task_is_edited_in_place_and_a_refusal_keeps_what_was_typed(client, recruiter, ramp_plan):
    task = ramp_plan.tasks.get(title="Shadow ten calls")
    url = f"/hiring/onboarding-templates/tasks/{task.pk}/"
    client.force_login(recruiter)
    before = state()
    refused = client.post(
        url, {"kind": "shadow", "title": "Shadow twelve calls", "due_day": "400",
              "description": "Typed words", "manager_signs_off": "on"},
    )  # fmt: skip
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Enter a whole number from 0 to 365." in html
    assert 'value="Shadow twelve calls"' in html and 'value="400"' in html
    assert html.count("Typed words") == 1  # in that task's form only
    assert state() == before
    saved = client.post(
        url, {"kind": "coaching", "title": "Shadow twelve calls", "due_day": "20",
              "description": ""},
    )  # fmt: skip
    assert saved.status_code == 302 and saved.url == f"{detail(ramp_plan)}#task-{task.pk}"
    stored = OnboardingTemplateTask.objects.get(pk=task.pk)
    assert (stored.kind, stored.title, stored.due_day, stored.manager_signs_off) == (
        "coaching", "Shadow twelve calls", 20, False,
    )  # fmt: skip


def test_a_task_is_added_on_the_page_and_a_refusal_keeps_what_was_typed(
    client, recruiter, ramp_plan
):
    url = f"/hiring/onboarding-templates/{ramp_plan.pk}/tasks/"
    client.force_login(recruiter)
    before = state()
    refused = client.post(
        url, {"kind": "", "title": "Demo the product", "due_day": "ten", "manager_signs_off": "on"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Choose one of:" in html and "Enter a whole number." in html
    assert (
        'value="Demo the product"' in html
        and 'id="n-signs" name="manager_signs_off" value="on" checked' in html
    )
    assert state() == before
    added = client.post(
        url, {"kind": "product", "title": "Demo the product", "due_day": "12",
              "manager_signs_off": "on"},
    )  # fmt: skip
    task = ramp_plan.tasks.get(title="Demo the product")
    assert added.status_code == 302 and added.url == f"{detail(ramp_plan)}#task-{task.pk}"
    assert (task.kind, task.due_day, task.manager_signs_off) == ("product", 12, True)


def test_tasks_are_removed_and_templates_deleted_from_the_pages(
    client, recruiter, seeded, ramp_plan
):
    client.force_login(recruiter)
    task = ramp_plan.tasks.get(title="Product basics")
    removed = client.post(f"/hiring/onboarding-templates/tasks/{task.pk}/remove/")
    assert removed.status_code == 302 and removed.url == detail(ramp_plan)
    assert not OnboardingTemplateTask.objects.filter(pk=task.pk).exists()

    page = client.get(detail(seeded)).content.decode()
    assert 'data-testid="template-delete"' not in page  # the default: no delete button
    before = state()
    refused = client.post(f"/hiring/onboarding-templates/{seeded.pk}/delete/", follow=True)
    assert "make another template the default" in refused.content.decode()
    assert state() == before

    deleted = client.post(f"/hiring/onboarding-templates/{ramp_plan.pk}/delete/")
    assert deleted.status_code == 302 and deleted.url == LIST
    assert not OnboardingTemplate.objects.filter(pk=ramp_plan.pk).exists()


def _routes(template: OnboardingTemplate, task: OnboardingTemplateTask) -> list[tuple[str, str]]:
    return [
        ("get", LIST),
        ("post", LIST),
        ("get", detail(template)),
        ("post", detail(template)),
        ("post", f"{detail(template)}delete/"),
        ("post", f"{detail(template)}tasks/"),
        ("post", f"/hiring/onboarding-templates/tasks/{task.pk}/"),
        ("post", f"/hiring/onboarding-templates/tasks/{task.pk}/remove/"),
    ]


def test_only_recruiters_and_administrators_reach_the_pages(
    client, rep, manager, admin_user, ramp_plan
):
    task = ramp_plan.tasks.first()
    before = state()
    for who in (rep, manager):
        client.force_login(who)
        for method, url in _routes(ramp_plan, task):
            data = {"name": "Mine", "kind": "other", "title": "Mine", "due_day": "1"}
            response = getattr(client, method)(url, data if method == "post" else None)
            assert response.status_code == 403, (who, method, url)
        assert b"onboarding-templates-link" not in client.get("/hiring/").content
    assert state() == before
    client.force_login(admin_user)
    assert client.get(LIST).status_code == 200
    assert b'data-testid="onboarding-templates-link"' in client.get("/hiring/").content


def test_unknown_ids_are_404(client, recruiter):
    client.force_login(recruiter)
    gone = OnboardingTemplate(pk=999_999, name="Gone")
    task = OnboardingTemplateTask(pk=999_999)
    for method, url in _routes(gone, task)[2:]:
        assert getattr(client, method)(url).status_code == 404, (method, url)


def test_the_list_page_query_count_does_not_grow_with_templates_and_tasks(
    client, recruiter, django_assert_num_queries
):
    client.force_login(recruiter)
    client.get(LIST)
    with django_assert_num_queries(LIST_QUERIES):  # the seeded template only
        page = client.get(LIST)
    assert page.content.decode().count('data-testid="onboarding-template"') == 1
    for n in range(5):
        more = services.onboarding_template_create(actor=recruiter, name=f"Plan {n}")
        for day in (1, 45, 80, 120):
            services.onboarding_template_task_add(
                actor=recruiter, template_id=more.pk, kind="other", title=f"Day {day}",
                due_day=day,
            )  # fmt: skip
    with django_assert_num_queries(LIST_QUERIES):
        page = client.get(LIST)
    assert page.content.decode().count('data-testid="onboarding-template"') == 6


# The session, its user, the templates with their task counts and spread (one query,
# however many), the navbar's counts.
LIST_QUERIES = 4
