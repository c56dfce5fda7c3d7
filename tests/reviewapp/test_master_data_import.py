"""`import_master_data`: vendors, purchase orders and goods receipts from CSV and
JSON, with a per-row report of what was created, updated or rejected and why."""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from reviewapp.models.configuration import ValidationRuleSetting
from reviewapp.models.master_data import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
)
from reviewapp.services.master_data import (
    MasterDataFileError,
    master_data_import,
    read_master_data,
)

pytestmark = pytest.mark.django_db

VENDORS_CSV = "\n".join(
    [
        "number,name,aliases,vat_id,ibans,address,country,currency,"
        "payment_terms_days,active",
        "V-1001,Nordlicht Bürobedarf GmbH,Nordlicht Buerobedarf,DE 811 907 980,"
        'DE89 3704 0044 0532 0130 00,"Hafenstrasse 12, 20457 Hamburg",de,eur,30,yes',
        "V-1003,Atelier Duval SARL,,FR40303265045,"
        "FR1420041010050500013M02606|FR7630006000011234567890189,"
        '"18 rue des Tanneurs, 69002 Lyon",FR,EUR,,',
        "V-2001,Globex Ltd,,DE811907981,,,DE,EUR,,",
        "V-2002,Initech GmbH,,,DE89370400440532013001,,DE,EURO,,",
        ",Nameless,,,,,,,,",
        "",
    ]
)


def run_import(path: Path, kind: str) -> tuple[str, bool]:
    """The command's output and whether it failed (status 1)."""
    out = io.StringIO()
    try:
        call_command("import_master_data", str(path), kind=kind, stdout=out)
    except CommandError as error:
        return out.getvalue() + str(error), True
    return out.getvalue(), False


def test_good_vendor_rows_are_created_and_bad_ones_rejected_with_reasons(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vendors.csv"
    path.write_text(VENDORS_CSV)
    output, failed = run_import(path, "vendors")
    assert failed
    lines = output.splitlines()
    assert lines[0] == "row 2: vendor V-1001: created"
    assert lines[1] == "row 3: vendor V-1003: created"
    assert lines[2] == (
        "row 4: vendor V-2001: rejected (VAT id DE811907981 is not valid: its "
        "check digits do not match (a misread character?).)"
    )
    assert lines[3].startswith("row 5: vendor V-2002: rejected (")
    assert "“EURO” is not a three-letter currency code such as EUR." in lines[3]
    assert "IBAN DE89370400440532013001 is not valid" in lines[3]
    assert lines[4] == "row 6: vendor ?: rejected (number is missing)"
    assert "vendors.csv: 2 created, 0 updated, 0 unchanged, 3 rejected" in output
    assert "3 rows rejected; the other rows were imported" in output

    nordlicht = Vendor.objects.get(number="V-1001")
    assert nordlicht.vat_id == "DE811907980"
    assert nordlicht.ibans == ["DE89370400440532013000"]
    assert nordlicht.aliases == ["Nordlicht Buerobedarf"]
    assert (nordlicht.country, nordlicht.currency) == ("DE", "EUR")
    assert nordlicht.payment_terms_days == 30 and nordlicht.active
    duval = Vendor.objects.get(number="V-1003")
    assert duval.ibans == ["FR1420041010050500013M02606", "FR7630006000011234567890189"]
    assert not Vendor.objects.filter(number__in=["V-2001", "V-2002"]).exists()


def test_re_importing_updates_what_changed_and_leaves_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "vendors.csv"
    path.write_text(VENDORS_CSV)
    run_import(path, "vendors")
    output, _ = run_import(path, "vendors")
    assert "row 2: vendor V-1001: unchanged" in output
    assert "row 3: vendor V-1003: unchanged" in output

    changed = VENDORS_CSV.replace('Lyon",FR,EUR,,', 'Lyon",FR,EUR,45,no')
    path.write_text(changed)
    output, _ = run_import(path, "vendors")
    assert "row 3: vendor V-1003: updated" in output
    assert "1 updated, 1 unchanged, 3 rejected" in output
    duval = Vendor.objects.get(number="V-1003")
    assert (duval.payment_terms_days, duval.active) == (45, False)
    assert Vendor.objects.count() == 2


def import_vendors() -> None:
    rows = read_master_data("vendors.csv", VENDORS_CSV.encode())
    master_data_import(kind="vendors", rows=rows)


PURCHASE_ORDERS = [
    {
        "number": "PO-55120",
        "vendor": "V-1003",
        "currency": "eur",
        "price_tolerance_percent": 2,
        "lines": [
            {
                "line": "10",
                "item_code": "RL-A5",
                "description": "Reliure cuir, format A5",
                "quantity": "20",
                "unit_price": "14.00",
            },
            {"line": "20", "description": "Dorure", "quantity": 20, "unit_price": 3.5},
            {
                "line": "30",
                "description": "Boxes",
                "quantity": "ten",
                "unit_price": "1",
            },
        ],
    },
    {
        "number": "PO-9",
        "vendor": "V-7777",
        "currency": "EUR",
        "lines": [{"line": "1", "description": "x", "quantity": 1, "unit_price": 1}],
    },
]


def test_purchase_orders_import_from_json_with_nested_lines(tmp_path: Path) -> None:
    import_vendors()
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(PURCHASE_ORDERS))
    output, failed = run_import(path, "purchase_orders")
    assert failed
    assert output.splitlines()[:4] == [
        "row 1: purchase order PO-55120 line 10: created",
        "row 1: purchase order PO-55120 line 20: created",
        "row 1: purchase order PO-55120 line 30: rejected "
        "(quantity “ten” is not a number like 12.50)",
        "row 2: purchase order PO-9 line 1: rejected "
        "(vendor V-7777 is not on the vendor master; import vendors first)",
    ]
    order = PurchaseOrder.objects.get(number="PO-55120")
    assert order.vendor.number == "V-1003"
    assert order.currency == "EUR"
    assert order.price_tolerance_percent == Decimal("2.00")
    assert order.quantity_tolerance_percent is None
    lines = {line.line_number: line for line in order.lines.all()}
    assert set(lines) == {"10", "20"}
    assert lines["20"].unit_price == Decimal("3.5")

    repriced = copy.deepcopy(PURCHASE_ORDERS)
    repriced[0]["lines"][1]["unit_price"] = "3.80"  # type: ignore[index]
    path.write_text(json.dumps(repriced))
    output, _ = run_import(path, "purchase_orders")
    assert "row 1: purchase order PO-55120 line 10: unchanged" in output
    assert "row 1: purchase order PO-55120 line 20: updated" in output
    assert PurchaseOrderLine.objects.get(line_number="20").unit_price == Decimal("3.8")


def test_goods_receipts_import_from_csv_and_refuse_unknown_lines(
    tmp_path: Path,
) -> None:
    import_vendors()
    master_data_import(
        kind="purchase_orders",
        rows=read_master_data("po.json", json.dumps(PURCHASE_ORDERS[:1]).encode()),
    )
    path = tmp_path / "receipts.csv"
    path.write_text(
        "reference,po_number,line,quantity_received,received_on\n"
        "GR-1,PO-55120,10,12,2026-11-02\n"
        "GR-2,PO-55120,10,8,2026-11-05\n"
        "GR-2,PO-55120,99,8,2026-11-05\n"
        "GR-3,PO-55120,20,-1,05/11/2026\n"
    )
    output, failed = run_import(path, "goods_receipts")
    assert failed
    assert output.splitlines()[:4] == [
        "row 2: goods receipt GR-1 for PO-55120 line 10: created",
        "row 3: goods receipt GR-2 for PO-55120 line 10: created",
        "row 4: goods receipt GR-2: rejected (purchase order PO-55120 has no line 99)",
        "row 5: goods receipt GR-3: rejected (quantity_received -1 must be zero "
        "or more; received_on “05/11/2026” is not a date like 2026-11-02)",
    ]
    received = sum(r.quantity_received for r in GoodsReceipt.objects.all())
    assert received == Decimal(20)
    output, failed = run_import(path, "goods_receipts")
    assert "row 2: goods receipt GR-1 for PO-55120 line 10: unchanged" in output
    assert GoodsReceipt.objects.count() == 2


def test_unknown_columns_are_rejected_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "vendors.csv"
    path.write_text("number,name,vat\nV-1,Acme,DE811907980\n")
    output, failed = run_import(path, "vendors")
    assert failed
    assert "row 2: vendor V-1: rejected (unknown column vat)" in output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("vendors.xlsx", b"PK", "vendors.xlsx: send a .csv or .json file"),
        ("vendors.json", b"[{", "vendors.json is not valid JSON (line 1"),
        ("vendors.json", b'{"a": 1, "b": 2}', "expected a list of records"),
        ("vendors.csv", b"", "vendors.csv is empty"),
        ("vendors.csv", b"\xff\xfe", "vendors.csv is not UTF-8 text"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(
    name: str, content: bytes, message: str
) -> None:
    with pytest.raises(MasterDataFileError, match=message.replace("(", r"\(")):
        read_master_data(name, content)


def test_the_command_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_master_data", str(tmp_path / "nope.csv"), kind="vendors")


def test_the_admin_form_checks_identifiers_like_the_import() -> None:
    vendor = Vendor(number="V-9", name="Acme", ibans=["DE89370400440532013001"])
    with pytest.raises(ValidationError) as caught:
        vendor.full_clean()
    assert caught.value.message_dict["ibans"] == [
        "IBAN DE89370400440532013001 is not valid: its check digits do not match "
        "(a misread character?)."
    ]


def test_admins_manage_master_data_and_supervisors_read_it(
    admin_user: User, supervisor: User, clerk: User
) -> None:
    assert admin_user.has_perm("reviewapp.change_vendor")
    assert admin_user.has_perm("reviewapp.add_purchaseorder")
    assert admin_user.has_perm("reviewapp.change_validationrulesetting")
    assert supervisor.has_perm("reviewapp.view_vendor")
    assert not supervisor.has_perm("reviewapp.change_vendor")
    assert not clerk.has_perm("reviewapp.view_vendor")


def test_the_demo_master_data_imports_cleanly_and_again_unchanged() -> None:
    out = io.StringIO()
    call_command("load_demo", no_documents=True, stdout=out)
    assert "demo vendors: 4 created, 0 updated, 0 unchanged, 0 rejected" in (
        out.getvalue()
    )
    assert "demo purchase orders: 2 created" in out.getvalue()
    assert "demo goods receipts: 2 created" in out.getvalue()
    out = io.StringIO()
    call_command("load_demo", no_documents=True, stdout=out)
    assert "demo vendors: 0 created, 0 updated, 4 unchanged, 0 rejected" in (
        out.getvalue()
    )


def staff(user: User) -> Client:
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_imports_through_the_admin_and_sees_every_row(
    admin_user: User,
) -> None:
    client = staff(admin_user)
    listing = client.get(reverse("admin:reviewapp_vendor_changelist"))
    assert 'href="import/"' in listing.content.decode()
    url = reverse("admin:reviewapp_vendor_import")
    upload = SimpleUploadedFile("vendors.csv", VENDORS_CSV.encode())
    response = client.post(url, {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "vendors.csv: 2 created, 0 updated, 0 unchanged, 3 rejected" in html
    assert '<tr class="outcome-rejected"><td>4</td><td>vendor V-2001</td>' in html
    assert Vendor.objects.count() == 2
    bad = client.post(url, {"file": SimpleUploadedFile("v.json", b"[{")})
    assert "v.json is not valid JSON" in bad.content.decode()


def test_a_supervisor_may_read_but_not_import_master_data(supervisor: User) -> None:
    client = staff(supervisor)
    listing = client.get(reverse("admin:reviewapp_vendor_changelist"))
    assert listing.status_code == 200
    assert 'href="import/"' not in listing.content.decode()
    url = reverse("admin:reviewapp_purchaseorder_import")
    upload = SimpleUploadedFile("po.json", json.dumps(PURCHASE_ORDERS).encode())
    assert client.post(url, {"file": upload}).status_code == 403
    assert not PurchaseOrder.objects.exists()


def test_admins_switch_rules_from_a_list_of_known_rules(admin_user: User) -> None:
    client = staff(admin_user)
    url = reverse("admin:reviewapp_validationrulesetting_add")
    form = client.get(url).content.decode()
    assert (
        "bank_details_unchanged: The IBAN is on the vendor master and is the one "
        "the vendor&#x27;s last approved invoice was paid to; otherwise an error "
        "needing a second person.</option>"
    ) in form
    response = client.post(
        url, {"document_type": "receipt", "rule": "duplicate_invoice", "enabled": ""}
    )
    assert response.status_code == 302
    setting = ValidationRuleSetting.objects.get()
    assert (setting.document_type, setting.rule, setting.enabled) == (
        "receipt",
        "duplicate_invoice",
        False,
    )
    refused = client.post(url, {"document_type": "receipt", "rule": "no_such_rule"})
    assert "Select a valid choice" in refused.content.decode()
