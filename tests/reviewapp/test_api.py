"""The REST API with token auth: upload, list, read, and who may see what."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from reviewapp import jobs
from reviewapp.models.api_tokens import ApiToken
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.services.api_tokens import token_issue
from tests.conftest import RECEIPT, logged_in
from tests.reviewapp.test_document_views import LONG_NAME, raw_multipart

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/documents/"


def token_client(user: User) -> APIClient:
    client = APIClient()
    _, key = token_issue(owner=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def send(client: APIClient, content: bytes, name: str = "acme.png"):
    return client.post(
        DOCUMENTS, {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


@pytest.fixture
def uploaded(clerk: User, media_root: Path, invoice_png: bytes) -> Document:
    response = send(token_client(clerk), invoice_png)
    assert response.status_code == 201, response.content
    document = Document.objects.get(public_id=response.json()["document"]["id"])
    jobs.process_document(document.pk)
    return document


def test_without_a_token_nothing_is_answered(uploaded: Document) -> None:
    client = APIClient()
    assert client.get(DOCUMENTS).status_code == 401
    assert client.get(f"{DOCUMENTS}{uploaded.public_id}/").status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(DOCUMENTS).status_code == 401


def test_an_upload_is_queued_from_the_api_channel(
    clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    response = send(token_client(clerk), invoice_png)

    assert response.status_code == 201
    body = response.json()
    assert body["duplicate"] is False
    assert body["document"]["status"] == "queued"
    document = Document.objects.get(public_id=body["document"]["id"])
    assert document.channel == Document.Channel.API
    assert document.uploaded_by == clerk


def test_a_read_document_has_its_fields_with_confidence_and_box(
    clerk: User, uploaded: Document
) -> None:
    response = token_client(clerk).get(f"{DOCUMENTS}{uploaded.public_id}/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    fields = {field["name"]: field for field in body["fields"]}
    assert fields["total_amount"]["value"] == "120.50"
    assert fields["currency"]["value"] == "EUR"
    assert fields["invoice_date"]["value"] == "2019-09-16"
    assert fields["total_amount"]["page"] == 1
    assert len(fields["total_amount"]["box"]) == 4
    assert 0 < fields["total_amount"]["confidence"] <= 1


def test_the_list_filters_by_status(clerk: User, uploaded: Document) -> None:
    client = token_client(clerk)

    ready = client.get(DOCUMENTS, {"status": "ready"}).json()
    failed = client.get(DOCUMENTS, {"status": "failed"}).json()

    assert [item["id"] for item in ready["results"]] == [str(uploaded.public_id)]
    assert failed["results"] == []


def test_a_document_outside_the_shared_queue_does_not_exist_for_others(
    clerk: User, other_clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    """Until it is read, a document is its uploader's alone (the review queue
    holds read documents only); for someone without a role it never exists."""
    sent = send(token_client(clerk), invoice_png).json()["document"]["id"]
    client = token_client(other_clerk)

    assert client.get(f"{DOCUMENTS}{sent}/").status_code == 404
    assert client.get(DOCUMENTS).json()["results"] == []


def test_someone_without_a_role_sees_nothing(
    outsider: User, uploaded: Document
) -> None:
    client = token_client(outsider)

    assert client.get(f"{DOCUMENTS}{uploaded.public_id}/").status_code == 404
    assert client.get(DOCUMENTS).json()["results"] == []


def test_a_supervisor_sees_every_document(supervisor: User, uploaded: Document) -> None:
    listed = token_client(supervisor).get(DOCUMENTS).json()["results"]
    assert [item["id"] for item in listed] == [str(uploaded.public_id)]


def test_a_duplicate_names_the_earlier_document(
    clerk: User, uploaded: Document, invoice_png: bytes
) -> None:
    again = send(token_client(clerk), invoice_png, "again.png")

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["document"]["id"] == str(uploaded.public_id)
    assert "already uploaded as acme.png" in again.json()["message"]


def test_a_duplicate_reveals_nothing_to_someone_who_may_not_see_the_first(
    clerk: User, other_clerk: User, media_root: Path, invoice_png: bytes
) -> None:
    send(token_client(clerk), invoice_png)  # queued: the uploader's alone

    stranger = send(token_client(other_clerk), invoice_png, "mine.png")

    assert stranger.status_code == 200
    assert stranger.json()["duplicate"] is True
    assert stranger.json()["document"] is None
    assert stranger.json()["message"] == "mine.png was already uploaded by someone else"


def test_a_refused_file_gets_a_reason(clerk: User, media_root: Path) -> None:
    response = send(token_client(clerk), b"just some text, not a document", "x.png")

    assert response.status_code == 400
    assert "error" in response.json()
    assert Document.objects.count() == 0


def test_a_missing_file_field_is_explained(clerk: User) -> None:
    response = token_client(clerk).post(DOCUMENTS, {}, format="multipart")
    assert response.status_code == 400
    assert "'file'" in response.json()["error"]


def test_a_user_without_a_role_cannot_upload(
    outsider: User, media_root: Path, invoice_png: bytes
) -> None:
    assert send(token_client(outsider), invoice_png).status_code == 403


def test_the_openapi_schema_validates_and_documents_the_endpoints(
    tmp_path: Path,
) -> None:
    schema_file = tmp_path / "schema.yaml"
    call_command("spectacular", validate=True, fail_on_warn=True, file=schema_file)

    schema = yaml.safe_load(schema_file.read_text())
    assert set(schema["paths"]) >= {
        "/api/v1/documents/",
        "/api/v1/documents/{public_id}/",
    }
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_api_token_command_issues_lists_revokes_and_rotates(
    clerk: User, capsys
) -> None:
    call_command("api_token", "clerk", name="erp")
    first = capsys.readouterr().out.strip()
    assert len(first) >= 40
    [token] = ApiToken.objects.filter(owner=clerk)
    assert token.prefix == first[:8] and token.name == "erp"
    assert first not in token.digest  # only the digest is kept

    call_command("api_token", "clerk", rotate=True)
    rotated = capsys.readouterr().out.strip()
    assert rotated != first
    assert ApiToken.objects.filter(owner=clerk, revoked_at=None).count() == 1

    call_command("api_token", "clerk", list=True)
    listing = capsys.readouterr().out
    assert f"{first[:8]}…  revoked" in listing
    assert f"{rotated[:8]}…  active" in listing

    call_command("api_token", "clerk", revoke=rotated[:8])
    assert not ApiToken.objects.filter(owner=clerk, revoked_at=None).exists()


def test_a_token_records_its_last_use_and_stops_working_once_revoked(
    clerk: User, admin_user: User
) -> None:
    token, key = token_issue(owner=clerk, name="erp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/documents/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_ip == "127.0.0.1"

    admin_user.is_staff = True
    admin_user.save()
    admin_client = logged_in(admin_user)
    changelist = admin_client.get("/admin/reviewapp/apitoken/")
    assert token.prefix in changelist.content.decode()
    assert key not in changelist.content.decode()
    admin_client.post(
        "/admin/reviewapp/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user
    refused = client.get("/api/v1/documents/")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


def test_sensitive_values_are_masked_in_the_api_even_inside_other_fields(
    supervisor: User, uploaded: Document
) -> None:
    iban = "DE89370400440532013000"
    Field.objects.update_or_create(
        document=uploaded, name="iban", defaults={"value": iban, "raw_value": iban}
    )
    Field.objects.update_or_create(
        document=uploaded,
        name="vendor_address",
        defaults={"value": f"Hauptstr. 5 Berlin IBAN {iban}"},
    )

    response = token_client(supervisor).get(f"{DOCUMENTS}{uploaded.public_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert iban not in body.replace(" ", "")
    fields = {field["name"]: field for field in response.json()["fields"]}
    assert fields["iban"]["value"] == "DE89 •••• •••• •••• ••30 00"
    assert "•" in fields["vendor_address"]["value"]


def test_a_name_too_long_for_a_multipart_header_gets_a_plain_reason(
    clerk: User, media_root: Path
) -> None:
    body, content_type = raw_multipart(LONG_NAME, RECEIPT.read_bytes())

    response = token_client(clerk).generic(
        "POST", DOCUMENTS, body, content_type=content_type
    )

    assert response.status_code == 400
    assert "file name is too long" in response.json()["error"]
