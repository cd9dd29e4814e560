"""The import pages: upload, confirm the mapping with a preview, import (with a progress
bar for large files), the batches, the rejected rows and undo. Thin: every decision is in
exchange.services; these read the request and render what the services say."""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exchange import selectors, services
from exchange.forms import ConfigureForm, UploadForm
from exchange.models import BatchStatus, ImportBatch
from exchange.rules import FIELDS, ImportKind
from salesops.exceptions import ApplicationError
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest
from salesops.models import User


def _importer(request: AuthenticatedRequest) -> User:
    """Admins and sales leaders import; anyone else gets 403, as the services answer."""
    if not selectors.may_import(request.user):
        raise DjangoPermissionDenied("Imports are for administrators and sales leaders.")
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def batch_list(request: AuthenticatedRequest) -> HttpResponse:
    """The imports so far, and a new one."""
    user = _importer(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = services.batch_upload(
                    actor=user,
                    kind=form.cleaned_data["kind"],
                    source=form.cleaned_data["source"],
                    file_name=upload.name,
                    content=upload.read(),
                )
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                # Read it at once: the mapping page shows the values to map. With a
                # mapping that is not complete yet, the page asks for it instead.
                with contextlib.suppress(ApplicationError):
                    services.batch_preview(actor=user, batch_id=batch.pk)
                return redirect("exchange:batch_detail", pk=batch.pk)
        status = 422
    return render(
        request,
        "exchange/batch_list.html",
        {
            "form": form,
            "batches": selectors.batch_list_for(user)[:100],
            "sources": selectors.known_sources(),
        },
        status=status,
    )


def _configure_form(batch: ImportBatch, data: Any = None) -> ConfigureForm:
    choices = selectors.mapping_choices(batch)
    return ConfigureForm(batch, data, **choices)


def _detail_context(
    request: AuthenticatedRequest, batch: ImportBatch, form: ConfigureForm | None = None
):
    kind = ImportKind(batch.kind)
    context: dict[str, Any] = {
        "batch": batch,
        "kind_fields": FIELDS[kind],
        "report": batch.preview if batch.status == BatchStatus.DRAFT else None,
        "progress": services.batch_progress(batch),
        "undoable": batch.status == BatchStatus.DONE and not batch.changed_existing,
    }
    if batch.status == BatchStatus.DRAFT:
        context["form"] = form or _configure_form(batch)
    return context


@login_required
@require_GET
def batch_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = _importer(request)
    batch = selectors.batch_get_for(user, pk)
    return render(request, "exchange/batch_detail.html", _detail_context(request, batch))


@login_required
@require_POST
def batch_configure(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Save the mapping and read the file again (the preview); with "import", start."""
    user = _importer(request)
    batch = selectors.batch_get_for(user, pk)
    if batch.status != BatchStatus.DRAFT:
        return redirect("exchange:batch_detail", pk=batch.pk)
    form = _configure_form(batch, request.POST)
    if form.is_valid():
        try:
            batch = services.batch_configure(
                actor=user,
                batch_id=batch.pk,
                mapping=form.mapping(),
                value_maps=form.value_maps(),
                options=form.options(),
            )
            services.batch_preview(actor=user, batch_id=batch.pk)
            if "import" in request.POST:
                batch = services.batch_start(actor=user, batch_id=batch.pk)
                if batch.status == BatchStatus.DONE:
                    messages.success(request, _done_message(batch))
                return redirect("exchange:batch_detail", pk=batch.pk)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("exchange:batch_detail", pk=batch.pk)
    batch.refresh_from_db()
    return render(
        request, "exchange/batch_detail.html", _detail_context(request, batch, form), status=422
    )


def _done_message(batch: ImportBatch) -> str:
    counts = batch.counts
    moved = f"{counts.get('moved', 0)} moved, " if batch.kind == ImportKind.OPPORTUNITIES else ""
    return (
        f"Imported: {counts.get('created', 0)} created, {counts.get('updated', 0)} updated, "
        f"{moved}{counts.get('unchanged', 0)} unchanged, {counts.get('rejected', 0)} refused."
    )


@login_required
@require_GET
def batch_progress(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The progress bar (htmx polls it while the import runs; once done it asks the page to
    reload so the report shows)."""
    user = _importer(request)
    batch = selectors.batch_get_for(user, pk)
    response = render(
        request,
        "exchange/partials/progress.html",
        {"batch": batch, "progress": services.batch_progress(batch)},
    )
    if batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING) and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def batch_undo(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = _importer(request)
    batch = selectors.batch_get_for(user, pk)
    try:
        services.batch_undo(actor=user, batch_id=batch.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The import was undone: what it created is deleted.")
    return redirect("exchange:batch_detail", pk=batch.pk)


@login_required
@require_GET
def batch_rejected_csv(request: AuthenticatedRequest, pk: int) -> StreamingHttpResponse:
    """The refused rows as the file had them, with a `problem` column — fix and import."""
    user = _importer(request)
    return services.rejected_rows_download(selectors.batch_get_for(user, pk))
