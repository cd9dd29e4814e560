"""The canonical CSV columns of accounts, products and opportunities.

The import reads these columns and the export writes them, in this order (see
salesops/columns.py for the people's columns, the value formats and `safe_cell`): an
export imported into an empty database gives the same records.
"""

from __future__ import annotations

from salesops.columns import Column

ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "The account's id in the CRM; salesops-<id> when it has none."),
    Column("name", "The customer's name."),
    Column("domain", "Web domain, e.g. acme.com."),
    Column("industry", "Industry, as the CRM names it."),
    Column("employees", "Number of employees, a whole number; empty: unknown."),
    Column("country", "Country, as the CRM names it."),
)

PRODUCT_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "The product's id in the CRM; salesops-<id> when it has none."),
    Column("name", "Product name (unique, whatever the case)."),
    Column("family", "Product family or line."),
    Column("list_price", "List price, a plain decimal (12500.00); empty: none."),
    Column("currency", "ISO 4217 code of the list price, e.g. EUR; empty: none."),
)

OPPORTUNITY_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "The deal's id in the CRM; salesops-<id> when it has none."),
    Column("name", "The deal's name."),
    Column("account", "Name of the customer's account."),
    Column("account_external_id", "The account's external_id (see the accounts file)."),
    Column("owner", "The owner's email, else their username."),
    Column("product", "Name of the product sold; empty: none."),
    Column("stage", "Name of the deal's stage in its pipeline."),
    Column("status", "open, won or lost."),
    Column("amount", "Amount, a plain decimal (12500.00)."),
    Column("currency", "ISO 4217 code of the amount, e.g. EUR."),
    Column("created_date", "The day the deal was created (organisation's time zone)."),
    Column("close_date", "Expected close date (the close date of a closed deal)."),
    Column("closed_date", "The day a won or lost deal closed; empty for an open one."),
    Column("loss_reason", "Why a lost deal was lost; empty otherwise."),
    Column("next_step", "The next step agreed."),
    Column("next_step_date", "When the next step is due; empty: none."),
)
