from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from reviewapp.views import (
    accounts,
    audit,
    capture,
    documents,
    exports,
    extractor,
    line_items,
    operations,
    review,
    splitting,
    training,
)

# Browsers ask for /favicon.ico on their own, for pages that link no icon (the
# API docs, a PDF, an error page): send them to the one base.html links.
# Permanent is safe because static URLs carry no content hash here; lazy, so
# the URL comes from whichever static storage is configured when asked.
FAVICON = lazy(static, str)("reviewapp/img/favicon.svg")

urlpatterns = [
    path("", review.home, name="home"),
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=FAVICON, permanent=True)),
        name="favicon",
    ),
    # Before Django's auth URLs, which would otherwise answer the same path.
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("documents/", documents.document_list, name="document-list"),
    path("queue/", RedirectView.as_view(url="mine/"), name="queue-home"),
    path("queue/<slug:queue>/", review.queue, name="queue"),
    path(
        "queue/<slug:queue>/rows/<uuid:public_id>/",
        review.queue_row,
        name="queue-row",
    ),
    path("documents/upload/", documents.document_upload, name="document-upload"),
    path("capture/", capture.capture_page, name="capture"),
    path("capture/check/", capture.capture_check, name="capture-check"),
    path("capture/send/", capture.capture_send, name="capture-send"),
    path("documents/status/", documents.document_statuses, name="document-statuses"),
    path(
        "documents/<uuid:public_id>/", documents.document_detail, name="document-detail"
    ),
    path(
        "documents/<uuid:public_id>/row/", documents.document_row, name="document-row"
    ),
    path(
        "documents/<uuid:public_id>/original/",
        documents.document_original,
        name="document-original",
    ),
    path(
        "documents/<uuid:public_id>/pages/<int:number>/image/",
        documents.page_image,
        name="page-image",
    ),
    path(
        "documents/<uuid:public_id>/retry/",
        documents.document_retry,
        name="document-retry",
    ),
    path(
        "documents/<uuid:public_id>/read-anyway/",
        documents.document_read_anyway,
        name="document-read-anyway",
    ),
    path(
        "documents/<uuid:public_id>/split/",
        splitting.document_split,
        name="document-split",
    ),
    path(
        "documents/<uuid:public_id>/split/confirm/",
        splitting.document_split_confirm,
        name="document-split-confirm",
    ),
    path(
        "documents/<uuid:public_id>/fields/<slug:name>/",
        documents.field_correct,
        name="field-correct",
    ),
    path(
        "documents/<uuid:public_id>/claim/",
        review.document_claim,
        name="document-claim",
    ),
    path(
        "documents/<uuid:public_id>/release/",
        review.document_release,
        name="document-release",
    ),
    path(
        "documents/<uuid:public_id>/approve/",
        review.document_approve,
        name="document-approve",
    ),
    path(
        "documents/<uuid:public_id>/escalate/",
        review.document_escalate,
        name="document-escalate",
    ),
    path(
        "documents/<uuid:public_id>/attest-bank-details/",
        review.bank_change_attest,
        name="bank-change-attest",
    ),
    path(
        "documents/<uuid:public_id>/reject/",
        review.document_reject,
        name="document-reject",
    ),
    path(
        "documents/<uuid:public_id>/fields/<slug:name>/confirm/",
        documents.field_confirm,
        name="field-confirm",
    ),
    path(
        "documents/<uuid:public_id>/fields/<slug:name>/reveal/",
        review.field_reveal,
        name="field-reveal",
    ),
    path(
        "documents/<uuid:public_id>/history/<int:sequence>/reveal/<slug:name>/",
        documents.history_reveal,
        name="history-reveal",
    ),
    path(
        "documents/<uuid:public_id>/lines/add/",
        line_items.line_item_add,
        name="line-item-add",
    ),
    path(
        "documents/<uuid:public_id>/lines/<int:line_id>/",
        line_items.line_item_update,
        name="line-item-update",
    ),
    path(
        "documents/<uuid:public_id>/lines/<int:line_id>/delete/",
        line_items.line_item_delete,
        name="line-item-delete",
    ),
    path(
        "documents/<uuid:public_id>/lines/<int:line_id>/split/",
        line_items.line_item_split,
        name="line-item-split",
    ),
    path("audit/export/", audit.audit_log_export, name="audit-export"),
    path("training/export/", training.training_export_page, name="training-export"),
    path(
        "documents/<uuid:public_id>/export/<slug:fmt>/",
        exports.document_export,
        name="document-export",
    ),
    path("export/", exports.export_page, name="export"),
    path("export/batch.<slug:fmt>", exports.export_batch, name="export-batch"),
    path(
        "extractor/versions/",
        extractor.extractor_versions_page,
        name="extractor-versions",
    ),
    path(
        "extractor/versions/retrain/",
        extractor.extractor_retrain,
        name="extractor-retrain",
    ),
    path(
        "extractor/versions/retrain/<str:job_id>/",
        extractor.extractor_retrain_status,
        name="extractor-retrain-status",
    ),
    path(
        "extractor/versions/<int:pk>/activate/",
        extractor.extractor_version_activate,
        name="extractor-version-activate",
    ),
    path("health/", operations.health, name="health"),
    path("health/detail/", operations.health_detail, name="health-detail"),
    path("metrics", operations.metrics, name="metrics"),
    path("operations/", operations.dashboard, name="operations-dashboard"),
    path(
        "operations/thresholds/",
        operations.threshold_simulator,
        name="threshold-simulator",
    ),
    path(
        "operations/thresholds/apply/",
        operations.threshold_apply,
        name="threshold-apply",
    ),
    path("operations/failed/", operations.failed_jobs, name="failed-jobs"),
    path(
        "operations/failed/requeue/",
        operations.failed_jobs_requeue,
        name="failed-jobs-requeue",
    ),
    path(
        "documents/<uuid:public_id>/review-time/",
        operations.review_time,
        name="review-time",
    ),
    path("api/", include("reviewapp.api.urls")),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]
