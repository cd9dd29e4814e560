"""The sign-in page offers the demo company's people, one click each, while the demo
password is accepted (DEBUG) — and nobody otherwise."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesops.models import Role
from tests.factories import UserFactory

LOGIN = reverse("login")


@pytest.fixture
def demo_people(db):
    people = [
        UserFactory(username="rep1", role=Role.REP, first_name="Daniel", last_name="Okafor"),
        UserFactory(username="admin", role=Role.ADMIN, first_name="Priya", last_name="Raman"),
    ]
    for person in people:
        person.set_password("demo")
        person.save()
    UserFactory(username="someone", role=Role.REP)  # not a demo login
    return people


def test_the_demo_people_are_listed_in_the_demos_order(client, demo_people, settings):
    settings.DEMO_PASSWORD_ALLOWED = True
    html = client.get(LOGIN).content.decode()
    assert 'data-testid="demo-logins"' in html
    assert html.index("<strong>admin</strong>") < html.index("<strong>rep1</strong>")
    assert "someone" not in html and "Priya Raman" in html


def test_one_click_signs_in_as_that_person(client, demo_people, settings):
    settings.DEMO_PASSWORD_ALLOWED = True
    answer = client.post(LOGIN, {"username": "rep1", "password": "demo", "next": "/"})
    assert answer.status_code == 302
    assert client.get("/").wsgi_request.user.username == "rep1"


def test_without_debug_nobody_is_offered(client, demo_people, settings):
    settings.DEMO_PASSWORD_ALLOWED = False
    html = client.get(LOGIN).content.decode()
    assert 'data-testid="demo-logins"' not in html and "rep1" not in html


def test_the_list_costs_one_query(client, demo_people, settings, django_assert_num_queries):
    settings.DEMO_PASSWORD_ALLOWED = True
    client.get(LOGIN)
    with django_assert_num_queries(2):  # anyone here at all?, the demo people
        client.get(LOGIN)
