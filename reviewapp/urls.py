from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from reviewapp.views import audit, documents

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="document-list"), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("documents/", documents.document_list, name="document-list"),
    path("documents/upload/", documents.document_upload, name="document-upload"),
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
        "documents/<uuid:public_id>/fields/<slug:name>/",
        documents.field_correct,
        name="field-correct",
    ),
    path(
        "documents/<uuid:public_id>/history/<int:sequence>/reveal/<slug:name>/",
        documents.history_reveal,
        name="history-reveal",
    ),
    path("audit/export/", audit.audit_log_export, name="audit-export"),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]
