"""The simulated users of bench/load.py (locust). Not run on its own: load.py writes the
plan (who signs in as whom, which deals and milestones they work on) and starts locust
with SALESOPS_LOAD_PLAN pointing at it.

A user is a rep or a manager working in the browser, with a pause between clicks
(SALESOPS_LOAD_THINK, "min-max" seconds; "0" for none): the board, the opportunity list,
a deal's page, ticking a milestone and advancing a deal (both as htmx posts, as the page
sends them), and an integration's API reads with a read-only key. A refused advance (the
gate: 422 with the missing milestones) is an answer, not an error; it is counted apart.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import string
from collections import Counter
from pathlib import Path

from locust import HttpUser, between, constant, events, task

PLAN = json.loads(Path(os.environ["SALESOPS_LOAD_PLAN"]).read_text())
OUTCOMES: Counter[str] = Counter()
VERSION = re.compile(r'name="version" value="(\d+)"')
NEXT_STAGE = re.compile(r'<input type="hidden" name="stage" value="(\d+)">')


def _think():
    low, _, high = os.environ.get("SALESOPS_LOAD_THINK", "1-3").partition("-")
    return constant(0) if float(low) == 0 and not high else between(float(low), float(high))


class SalesUser(HttpUser):
    wait_time = _think()

    def on_start(self) -> None:
        self.who = random.choices(PLAN["users"], weights=[u["weight"] for u in PLAN["users"]])[0]
        # The app runs behind a TLS proxy (DEBUG off: secure cookies, HTTPS checks); this
        # client talks plain HTTP to gunicorn and says what the proxy would.
        csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        self.client.headers.update(
            {
                "X-Forwarded-Proto": "https",
                "Cookie": f"sessionid={self.who['session']}; csrftoken={csrf}",
            }
        )
        self.post_headers = {
            "X-CSRFToken": csrf,
            "Origin": f"https://{self.host.split('://', 1)[1]}",
            "HX-Request": "true",
        }
        self.api_headers = {"Authorization": f"Bearer {self.who['api_key']}", "Cookie": ""}

    def _deal(self) -> dict:
        return random.choice(self.who["deals"])

    def _get(self, path: str, name: str, **kwargs) -> None:
        with self.client.get(path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    @task(3)
    def board(self) -> None:
        self._get("/", "page: board")

    @task(2)
    def opportunity_list(self) -> None:
        self._get("/opportunities/", "page: list")

    @task(3)
    def opportunity_page(self) -> None:
        self._get(f"/opportunities/{self._deal()['id']}/", "page: opportunity")

    @task(1)
    def tick_milestone(self) -> None:
        deal = self._deal()
        if deal["milestones"]:
            self._tick(deal, random.choice(deal["milestones"]))

    def _tick(self, deal: dict, milestone: int) -> None:
        evidence = "Confirmed on the call with the buyer."
        data = {"done": "on", "evidence": evidence, "location": "main"}
        path = f"/opportunities/{deal['id']}/milestones/{milestone}/toggle/"
        with self.client.post(
            path, data, headers=self.post_headers, name="write: tick milestone", catch_response=True
        ) as response:
            if response.status_code == 200:
                OUTCOMES["milestone ticked"] += 1
            elif response.status_code == 422:  # e.g. the deal moved on meanwhile
                OUTCOMES["milestone refused (422)"] += 1
                response.success()
            else:
                response.failure(f"{response.status_code}")

    @task(1)
    def advance(self) -> None:
        """Open a deal, tick its current stage's milestones, then advance it to the next
        stage as its page would (an automatic check may still hold it: the gate says so)."""
        deal = self._deal()
        for milestone in deal["milestones"]:
            self._tick(deal, milestone)
        page = self.client.get(f"/opportunities/{deal['id']}/", name="page: opportunity")
        version, stage = VERSION.search(page.text), NEXT_STAGE.search(page.text)
        if page.status_code != 200 or not version or not stage:
            OUTCOMES["advance not offered (closed or last stage)"] += 1
            return
        path = f"/opportunities/{deal['id']}/advance/"
        data = {"version": version.group(1), "stage": stage.group(1)}
        with self.client.post(
            path, data, headers=self.post_headers, name="write: advance", catch_response=True
        ) as response:
            if response.status_code == 200:
                OUTCOMES["advanced"] += 1
            elif response.status_code in (409, 422):  # the gate, or someone was faster
                OUTCOMES[f"advance refused ({response.status_code})"] += 1
                response.success()
            else:
                response.failure(f"{response.status_code}")

    @task(2)
    def api_list(self) -> None:
        self._get("/api/v1/opportunities/", "api: list", headers=self.api_headers)

    @task(2)
    def api_detail(self) -> None:
        path = f"/api/v1/opportunities/{self._deal()['id']}/"
        self._get(path, "api: detail", headers=self.api_headers)


@events.test_stop.add_listener
def _write_outcomes(environment, **_kwargs) -> None:
    if target := os.environ.get("SALESOPS_LOAD_OUTCOMES"):
        Path(target).write_text(json.dumps(dict(OUTCOMES)))
