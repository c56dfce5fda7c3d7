"""Operations: health and metrics for machines, the dashboard and the threshold
simulator for supervisors and administrators, failed jobs for administrators,
and the review page's active-time beacon."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST

from reviewapp import charts
from reviewapp.export_formats import spreadsheet_safe
from reviewapp.forms import DashboardFilterForm, SimulatorForm, ThresholdApplyForm
from reviewapp.permissions import (
    can_apply_thresholds,
    can_manage_failed_jobs,
    can_view_operations,
    document_for,
    metrics_allowed,
)
from reviewapp.selectors.failed_jobs import failed_jobs as failed_job_rows
from reviewapp.selectors.health import health_report
from reviewapp.selectors.metrics import metrics_text
from reviewapp.selectors.operations import (
    Chart,
    DashboardFilters,
    dashboard_chart,
    dashboard_charts,
    document_types,
)
from reviewapp.selectors.thresholds import simulate, threshold_overview
from reviewapp.services.processing import failed_documents_requeue
from reviewapp.services.review_time import ReviewTimeRefused, review_time_record
from reviewapp.services.thresholds import field_threshold_set

DEFAULT_DAYS = 30
CSV_TYPE = "text/csv; charset=utf-8"


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 "ok" or 503 "unhealthy", nothing else."""
    report = health_report()
    return HttpResponse(
        "ok\n" if report.ok else "unhealthy\n",
        status=200 if report.ok else 503,
        content_type="text/plain; charset=utf-8",
    )


@never_cache
@require_GET
def health_detail(request: HttpRequest) -> JsonResponse:
    if not can_manage_failed_jobs(request.user):
        raise PermissionDenied("Only administrators see the health details.")
    report = health_report()
    return JsonResponse(report.as_json(), status=200 if report.ok else 503)


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse(
            "Metrics need the bearer token or an allowed address (VOUCH_METRICS_*).\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


def chart_csv(chart: Chart) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(chart.columns)
    for row in chart.rows:
        writer.writerow(
            ["" if cell is None else spreadsheet_safe(str(cell)) for cell in row]
        )
    response = HttpResponse(buffer.getvalue(), content_type=CSV_TYPE)
    response["Content-Disposition"] = f'attachment; filename="vouch-{chart.slug}.csv"'
    return response


def _headline(charts_by_slug: dict[str, Chart]) -> list[tuple[str, str]]:
    """The tiles above the charts: a few figures pulled from the charts'
    own summaries, so a tile and its chart never disagree."""
    wanted = [
        ("straight-through", "No human edit", "Approved with no human edit"),
        ("exceptions", "Documents read", "Documents read"),
        (
            "review-time",
            "Minutes of human work per 100 documents",
            "Minutes of human work per 100 documents",
        ),
        ("review-time", "Per reviewed document", "Active review per document"),
    ]
    tiles = []
    for slug, key, label in wanted:
        summary = dict(charts_by_slug[slug].summary)
        tiles.append((label, summary.get(key, "–")))
    return tiles


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if not can_view_operations(request.user):
        raise PermissionDenied("The dashboard is for supervisors and administrators.")
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("start", (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
    data.setdefault("end", today.isoformat())
    form = DashboardFilterForm(data, document_types=document_types())
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        filters = DashboardFilters(
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
            document_type=form.cleaned_data["document_type"],
        )
        if request.GET.get("format") == "csv":
            chart = dashboard_chart(filters, request.GET.get("chart", ""))
            if chart is None:
                raise Http404("No such chart")
            return chart_csv(chart)
        all_charts = dashboard_charts(filters)
        by_slug = {chart.slug: chart for chart in all_charts}
        waiting = by_slug["waiting"]
        context |= {
            "charts": all_charts,
            "tiles": _headline(by_slug),
            "waiting": waiting.extra,
            "query": urlencode(
                {
                    k: form.cleaned_data[k] or ""
                    for k in ("start", "end", "document_type")
                }
            ),
            "time_zone": timezone.get_current_timezone_name(),
        }
    return render(request, "reviewapp/operations_dashboard.html", context)


@require_GET
def threshold_simulator(request: HttpRequest) -> HttpResponse:
    if not can_view_operations(request.user):
        raise PermissionDenied("The simulator is for supervisors and administrators.")
    form = SimulatorForm(request.GET or None)
    context: dict[str, Any] = {
        "form": form,
        "can_apply": can_apply_thresholds(request.user),
        "overview": threshold_overview(),
    }
    if form.is_valid():
        simulation = simulate(
            form.cleaned_data["field"],
            candidate=form.cleaned_data["threshold"],
            document_type=form.cleaned_data["document_type"],
        )
        if request.GET.get("format") == "csv":
            return chart_csv(
                Chart(
                    slug=f"threshold-{simulation.field_name}",
                    title="Threshold simulation",
                    svg="",
                    columns=[
                        "threshold",
                        "auto_accepted",
                        "auto_accepted_share",
                        "errors",
                        "errors_per_1000_documents",
                    ],
                    rows=[
                        [
                            p.threshold,
                            p.auto_accepted,
                            p.auto_accepted_share,
                            p.errors,
                            p.errors_per_thousand,
                        ]
                        for p in simulation.curve
                    ],
                )
            )

        def per_thousand(value: float | None) -> str:
            return "–" if value is None else f"{value:.1f}"

        context |= {
            "simulation": simulation,
            "current_share": charts.as_percent(
                simulation.current.auto_accepted_share or 0
            ),
            "current_errors": per_thousand(simulation.current.errors_per_thousand),
            "candidate_share": charts.as_percent(
                simulation.candidate.auto_accepted_share or 0
            ),
            "candidate_errors": per_thousand(simulation.candidate.errors_per_thousand),
            "query": request.GET.urlencode(),
        }
    return render(request, "reviewapp/threshold_simulator.html", context)


@require_POST
def threshold_apply(request: HttpRequest) -> HttpResponse:
    if not can_apply_thresholds(request.user):
        raise PermissionDenied("Only administrators change thresholds.")
    form = ThresholdApplyForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, " ".join(str(e) for errors in form.errors.values() for e in errors)
        )
        return redirect("threshold-simulator")
    name, threshold = form.cleaned_data["field"], form.cleaned_data["threshold"]
    field_threshold_set(
        name=name,
        threshold=threshold,
        actor=request.user,  # type: ignore[arg-type]
        note=form.cleaned_data["note"],
    )
    messages.success(
        request, f"{name} is now auto-accepted at {threshold:.3f} and above."
    )
    return redirect(
        f"{reverse('threshold-simulator')}?"
        + urlencode({"field": name, "threshold": threshold})
    )


@require_GET
def failed_jobs(request: HttpRequest) -> HttpResponse:
    if not can_manage_failed_jobs(request.user):
        raise PermissionDenied("Failed jobs are for administrators.")
    return render(request, "reviewapp/failed_jobs.html", {"failed": failed_job_rows()})


@require_POST
def failed_jobs_requeue(request: HttpRequest) -> HttpResponse:
    if not can_manage_failed_jobs(request.user):
        raise PermissionDenied("Failed jobs are for administrators.")
    # A row's own button names one document; "Requeue selected" the ticked ones.
    chosen = request.POST.getlist("document") or request.POST.getlist("documents")
    ids = [int(value) for value in chosen if value.isdigit()]
    if not ids:
        messages.error(request, "Tick at least one document to requeue.")
        return redirect("failed-jobs")
    outcome = failed_documents_requeue(document_ids=ids, actor=request.user)  # type: ignore[arg-type]
    count = len(outcome.requeued)
    messages.success(request, f"{count} document{'s' if count != 1 else ''} requeued.")
    if outcome.skipped:
        messages.warning(
            request, f"{outcome.skipped} no longer failed (requeued by someone else)."
        )
    return redirect("failed-jobs")


@require_POST
def review_time(request: HttpRequest, public_id: UUID) -> HttpResponse:
    document, _ = document_for(request.user, public_id)
    try:
        field_seconds = json.loads(request.POST.get("field_seconds") or "{}")
        active_seconds = float(request.POST.get("active_seconds", "0"))
        if not isinstance(field_seconds, dict):
            raise ValueError("field_seconds is not an object")
        review_time_record(
            document=document,
            user=request.user,  # type: ignore[arg-type]
            token=request.POST.get("token", ""),
            active_seconds=active_seconds,
            field_seconds=field_seconds,
        )
    except (ValueError, TypeError) as error:
        return HttpResponse(f"Bad report: {error}", status=400)
    except ReviewTimeRefused as refused:
        return HttpResponse(str(refused), status=403)
    return HttpResponse(status=204)
