from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from reviewapp.api.erp import (
    ExportViewSet,
    GoodsReceiptPushView,
    PurchaseOrderPushView,
    VendorPushView,
)
from reviewapp.api.views import DocumentViewSet

router = DefaultRouter()
router.register("documents", DocumentViewSet, basename="api-document")
router.register("exports", ExportViewSet, basename="api-export")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/vendors/", VendorPushView.as_view(), name="api-vendors"),
    path(
        "v1/purchase-orders/",
        PurchaseOrderPushView.as_view(),
        name="api-purchase-orders",
    ),
    path(
        "v1/goods-receipts/", GoodsReceiptPushView.as_view(), name="api-goods-receipts"
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
