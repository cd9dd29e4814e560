"""Every read of the insights app, scoped to the reader: results, the top-performer study,
suggestions and experiments. Figures are cached under the forecast data version (see
forecasting.freshness): any committed change to what they read makes older entries
unreachable at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from forecasting import freshness
from insights import behaviours, experiments, results, rules
from insights.models import Suggestion, SuggestionStatus
from insights.scope import Scope, refuse_unless_studying
from salesops import side_reads
from salesops.exceptions import ValidationFailed
from salesops.models import User


def results_for(user: User, scope: Scope, *, group_by: str = "rep") -> results.Results:
    """The results table. A rep's scope holds only themselves (scope_for sees to it)."""
    if group_by != "rep":
        refuse_unless_studying(user)

    def compute() -> results.Results:
        # The stage flow, the larger read, on a second connection meanwhile.
        flow_read = side_reads.side_read(lambda: results.stage_flow(scope))
        table = results.results(scope, group_by=group_by)
        flow = flow_read()
        return results.Results(
            scope=table.scope,
            group_by=table.group_by,
            rows=table.rows,
            total=table.total,
            stage_flow=flow,
        )

    return freshness.cached_numbers("insights-results", (*scope.cache_parts(), group_by), compute)


@dataclass(frozen=True)
class Study:
    scope: Scope
    group: rules.TopGroup
    names: dict[int, str]
    reps: list[results.ResultRow]  # the results per rep, in the group's order
    gaps: list[rules.Gap]  # ranked
    stage_of: dict[str, int | None]  # gap key -> stage id (for suggestions)
    behaviours: dict[str, behaviours.Behaviour]

    @property
    def first_gap(self) -> rules.Gap | None:
        ranked = [g for g in self.gaps if g.enough_data]
        return ranked[0] if ranked else None


def compute_study(scope: Scope, rank_by: str) -> Study:
    """The study, computed now (no cache, no access check): for services and tasks. The
    results table is read on a second connection while the behaviours are summed here."""
    table_read = side_reads.side_read(lambda: results.results(scope, group_by="rep"))
    measured = behaviours.behaviours(scope)
    table = table_read()
    reps = [
        rules.RepResult(
            rep_id=int(row.key),
            name=row.label,
            closed=row.closed,
            won_amount=row.won_amount,
            win_rate=row.win_rate,
            attainment=row.attainment,
        )
        for row in table.rows
        if row.key
    ]
    group = rules.top_group(reps, rank_by=rank_by, min_closed=scope.min_closed)
    gaps = [
        rules.gap(
            key=b.key,
            label=b.label,
            unit=b.unit,
            higher_is_better=b.higher_is_better,
            per_rep={
                pk: rules.RepMeasure(histogram=dict(v.histogram), deals=v.deals)
                for pk, v in b.per_rep.items()
            },
            group=group,
        )
        for b in measured
        if b.per_rep
    ]
    by_id = {int(row.key): row for row in table.rows if row.key}
    order = [*group.top, *group.rest, *group.too_few]
    return Study(
        scope=scope,
        group=group,
        names={r.rep_id: r.name for r in reps},
        reps=[by_id[pk] for pk in order if pk in by_id],
        gaps=rules.ranked(gaps),
        stage_of={b.key: b.stage_id for b in measured},
        behaviours={b.key: b for b in measured},
    )


def study_for(user: User, scope: Scope, *, rank_by: str = "won_amount") -> Study:
    """The top performers of the scope and the behaviour gaps, ranked. Refuses a rep."""
    refuse_unless_studying(user)
    if rank_by not in rules.RANKINGS:
        raise ValidationFailed(
            details={"rank_by": [f"Choose one of: {', '.join(rules.RANKINGS)}."]}
        )
    return freshness.cached_numbers(
        "insights-study", (*scope.cache_parts(), rank_by), lambda: compute_study(scope, rank_by)
    )


# --- suggestions ----------------------------------------------------------------------


def suggestion_list_for(user: User, *, status: str | None = None) -> QuerySet[Suggestion]:
    refuse_unless_studying(user)
    rows = Suggestion.objects.select_related("stage__pipeline", "decided_by", "rule_change")
    if status:
        rows = rows.filter(status=status)
    # Newest run first; within a run in the order of the study's ranking (created so).
    return rows.order_by("status", "-created_at", "id")


def suggestion_get_for(user: User, pk: Any) -> Suggestion:
    if not str(pk).isdigit():
        raise Http404
    found = suggestion_list_for(user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def open_suggestion_count() -> int:
    return Suggestion.objects.filter(status=SuggestionStatus.OPEN).count()


# --- experiments ----------------------------------------------------------------------


def experiment_list_for(user: User, scope: Scope) -> list[experiments.Experiment]:
    """Every change of a stage's exit rules, newest first, measured on the reader's deals."""
    refuse_unless_studying(user)
    return freshness.cached_numbers(
        "insights-experiments",
        (scope.owner_ids,),
        lambda: experiments.experiments(owner_ids=scope.owner_ids),
    )


def experiment_get_for(user: User, scope: Scope, pk: Any) -> experiments.Experiment:
    for experiment in experiment_list_for(user, scope):
        if str(experiment.change_id) == str(pk):
            return experiment
    raise Http404
