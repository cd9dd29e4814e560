"""A new hire's first 1:1s focus on the weakest selling skills of their interview
scorecards: hiring suggests them to coaching, whose 1:1 form pre-fills them and whose
side panel offers them — during the first weekly-1:1 period only."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from coaching import focus_suggestions
from coaching.models import Skill
from hiring import selectors

DAY_22 = dt.datetime(2027, 1, 26, 9, tzinfo=dt.UTC)
FORM = reverse("coaching:session_create")


def _selected(html: str, name: str) -> str | None:
    """The value of the selected option of <select name=name>; None for the blank one."""
    start = html.index(f'name="{name}"')
    end = html.index("</select>", start)
    part = html[start:end]
    marker = part.find(" selected")
    if marker < 0:
        return None
    return part[part.rindex('value="', 0, marker) + 7 :].split('"', 1)[0] or None


@pytest.fixture
def weakest(hired) -> set[int]:
    return set(
        Skill.objects.filter(name__in=["Business value articulation", "Discovery"]).values_list(
            "pk", flat=True
        )
    )


@pytest.mark.time_machine(DAY_22, tick=False)
def test_the_manager_opens_the_first_1_1_with_the_focus_chosen(client, hired, manager, weakest):
    assert set(focus_suggestions.suggest(hired.pk).skill_ids) == weakest
    client.force_login(manager)
    html = client.get(f"{FORM}?rep={hired.pk}").content.decode()
    chosen = {_selected(html, "focus_skill"), _selected(html, "second_focus_skill")}
    assert chosen == {str(pk) for pk in weakest}
    assert 'data-testid="suggested-focus"' in html and "interview scorecards" in html


@pytest.mark.time_machine(DAY_22, tick=False)
def test_what_the_manager_chose_is_kept(client, hired, manager):
    other = Skill.objects.exclude(name__in=["Business value articulation", "Discovery"]).first()
    client.force_login(manager)
    html = client.get(f"{FORM}?rep={hired.pk}&focus_skill={other.pk}").content.decode()
    assert _selected(html, "focus_skill") == str(other.pk)
    assert _selected(html, "second_focus_skill") is None


def test_no_suggestion_before_the_start_after_the_first_period_or_without_a_plan(
    client, hired, manager, rep
):
    with time_machine.travel(dt.datetime(2027, 1, 1, 9, tzinfo=dt.UTC), tick=False):
        assert selectors.first_one_on_ones_focus(hired.pk) is None  # not started yet
    with time_machine.travel(dt.datetime(2027, 4, 10, 9, tzinfo=dt.UTC), tick=False):
        assert selectors.first_one_on_ones_focus(hired.pk) is None  # past day 90
        client.force_login(manager)
        html = client.get(f"{FORM}?rep={hired.pk}").content.decode()
        assert _selected(html, "focus_skill") is None
        assert 'data-testid="suggested-focus"' not in html
    with time_machine.travel(DAY_22, tick=False):
        assert selectors.first_one_on_ones_focus(rep.pk) is None
        assert selectors.first_one_on_ones_focus(hired.pk) is not None


@pytest.mark.time_machine(DAY_22, tick=False)
def test_the_onboarding_page_leads_the_manager_to_that_1_1(client, hired, manager):
    client.force_login(manager)
    html = client.get(reverse("hiring:onboarding", args=[hired.pk])).content.decode()
    assert f'href="{FORM}?rep={hired.pk}"' in html
    client.force_login(hired)
    own = client.get(reverse("hiring:onboarding", args=[hired.pk])).content.decode()
    assert 'data-testid="plan-one-on-one"' not in own
