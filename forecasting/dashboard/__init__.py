"""The leader dashboard's reads: everything the dashboard shows in one picklable value, and
the drill-down to the deals behind each of its numbers (a selector package, like
forecasting/accuracy.py).

`dashboard_data(user, period_label, team_id)` composes the existing reads — the forecast
summary (with by_team), the trend of the period's weekly snapshots, the latest
week-over-week, the forecast from history, the total of the reps' latest calls and the
accuracy report — into a frozen `Dashboard` of plain values (no querysets, no model
instances, no request), so it can be cached. Its scope check (`dashboard_scope`: a rep, or
a team outside the user's teams, is a 404) runs first and alone, so a cache can be
consulted after it.

The drill-down reads (`figure_deals`, `change_deals`, `snapshot_deals`) list the deals
behind one number with the SAME definition the number came from: the summary's figures
through selectors.summary_figure_deals (the filter forecast_summary sums), the changes
from selectors.week_over_week's own groups, the trend's points through the same snapshot
scope (SnapshotScope.sql) and filters as selectors.snapshot_trend. So a listed total
equals the number clicked.

By topic: the scope and the composed data (`data`), the charts (`charts`), the tables
under them and the headline numbers (`tables`), the CSV downloads (`csv_tables`) and the
drill-down (`drilldown`); what they share is in `common`. Callers read
`from forecasting import dashboard`.
"""

from forecasting.dashboard.charts import (
    CATEGORY_COLOURS,
    DashboardCharts,
    dashboard_charts,
    team_rows,
)
from forecasting.dashboard.common import (
    CATEGORY_LABELS,
    CENT,
    CSV_MAX_ROWS,
    DEALS_PAGE_SIZE,
    FIGURE_TITLES,
    TREND_CATEGORIES,
    ZERO,
    deals_url,
    figure_url,
    trend_table,
    waterfall_steps,
)
from forecasting.dashboard.csv_tables import (
    DASHBOARD_TABLES,
    DEAL_CSV_HEADER,
    FIGURE_COLUMNS,
    csv_table,
    deals_csv_rows,
)
from forecasting.dashboard.data import (
    TREND_DEFAULT_WEEKS,
    CallsTotal,
    Dashboard,
    DashboardScope,
    TeamChoice,
    dashboard_data,
    dashboard_scope,
    may_see_dashboard,
    trend_weeks,
)
from forecasting.dashboard.drilldown import (
    SNAPSHOT_CATEGORIES,
    SNAPSHOT_ROWS_SQL,
    SNAPSHOT_TOTAL_SQL,
    STATUS_LABELS,
    DealList,
    DealRow,
    change_deals,
    figure_deals,
    snapshot_deals,
)
from forecasting.dashboard.tables import Cell, Table, dashboard_tables, dashboard_totals

__all__ = [
    "CATEGORY_COLOURS",
    "CATEGORY_LABELS",
    "CENT",
    "CSV_MAX_ROWS",
    "DASHBOARD_TABLES",
    "DEALS_PAGE_SIZE",
    "DEAL_CSV_HEADER",
    "FIGURE_COLUMNS",
    "FIGURE_TITLES",
    "SNAPSHOT_CATEGORIES",
    "SNAPSHOT_ROWS_SQL",
    "SNAPSHOT_TOTAL_SQL",
    "STATUS_LABELS",
    "TREND_CATEGORIES",
    "TREND_DEFAULT_WEEKS",
    "ZERO",
    "CallsTotal",
    "Cell",
    "Dashboard",
    "DashboardCharts",
    "DashboardScope",
    "DealList",
    "DealRow",
    "Table",
    "TeamChoice",
    "change_deals",
    "csv_table",
    "dashboard_charts",
    "dashboard_data",
    "dashboard_scope",
    "dashboard_tables",
    "dashboard_totals",
    "deals_csv_rows",
    "deals_url",
    "figure_deals",
    "figure_url",
    "may_see_dashboard",
    "snapshot_deals",
    "team_rows",
    "trend_table",
    "trend_weeks",
    "waterfall_steps",
]
