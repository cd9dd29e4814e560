"""Two imports of one file at the same moment do not duplicate a deal."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from exchange import services
from pipeline.models import Opportunity
from tests.clock import default_clock
from tests.exchange import corpus


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_make_each_deal_once(leader, import_pipeline, sellers):
    content = corpus.salesforce(corpus.true_deals(default_clock().date(), count=50))
    batches = [
        services.batch_upload(
            actor=leader, kind="opportunities", source="sf", file_name=f"{n}.csv", content=content
        )
        for n in range(2)
    ]
    results: dict[int, dict] = {}
    ready = threading.Barrier(2)

    def run(batch_id: int) -> None:
        try:
            ready.wait()
            results[batch_id] = services.batch_start(
                actor=leader, batch_id=batch_id, background=False
            ).counts
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(b.pk,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Opportunity.objects.filter(source="sf").count() == 50
    counts = sorted(results.values(), key=lambda c: c["created"])
    assert counts[0]["created"] == 0 and counts[0]["unchanged"] == 50
    assert counts[1]["created"] == 50 and counts[1]["rejected"] == 0
