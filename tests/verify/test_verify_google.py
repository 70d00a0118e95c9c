"""How `verify` reads GSM and IAM (verify/google.py): one `gcloud auth print-access-token` per run,
then Secret Manager's, Resource Manager's and IAM's REST APIs, here as recorded answers on loopback
that refuse a request without the token."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.verify_stand import recorded_http
from verify.google import GoogleApis
from verify.sources import CheckError, Deadline

TOKEN = "ya29.verify-test-token"
GSA = "llm-gateway-gsm@acme-llm-lab.iam.gserviceaccount.com"
POLICY = {"version": 1, "etag": "BwYk", "bindings": [{"role": "roles/secretmanager.secretAccessor",
                                                        "members": [f"serviceAccount:{GSA}"]}]}  # fmt: skip
ROUTES = {
    "/v1/projects/acme-llm-lab/secrets/litellm-master-key/versions/latest:access": (
        200,
        {"name": "projects/123/secrets/litellm-master-key/versions/3",
         "payload": {"data": base64.b64encode(b"sk-master-'key").decode(), "dataCrc32c": "1416394930"}},
    ),
    "/v1/projects/acme-llm-lab/secrets/litellm-master-key:getIamPolicy": (200, POLICY),
    "/v1/projects/acme-llm-lab:getIamPolicy": (200, {"version": 1, "etag": "BwYl", "bindings": []}),
    f"/v1/projects/-/serviceAccounts/{GSA}:getIamPolicy": (200, {"version": 1, "etag": "BwYm"}),
    "/v1/projects/acme-llm-lab/secrets/missing/versions/latest:access": (
        404,
        {"error": {"code": 404, "status": "NOT_FOUND",
                   "message": "Secret [projects/123/secrets/missing] not found or has no versions."}},
    ),
}  # fmt: skip


def gcloud(tmp_path: Path, code: int = 0) -> tuple[Path, Path]:
    """A `gcloud` printing TOKEN (or failing), and the file it counts its starts in."""
    script, starts = tmp_path / "gcloud", tmp_path / "starts"
    script.write_text(f"#!/bin/sh\necho started >> {starts}\necho {TOKEN}\nexit {code}\n")
    script.chmod(0o755)
    return script, starts


def test_secrets_and_policies_with_one_token(tmp_path: Path) -> None:
    script, starts = gcloud(tmp_path)
    requests: list[tuple[str, str]] = []
    with recorded_http(ROUTES, {"Authorization": f"Bearer {TOKEN}"}, requests) as server:
        url = f"http://127.0.0.1:{server.port}"
        google = GoogleApis("acme-llm-lab", Deadline(10), str(script), (url, url, url))
        assert google.secret("litellm-master-key") == "sk-master-'key"
        assert google.iam_policy("secrets/litellm-master-key") == POLICY
        assert google.iam_policy("project")["etag"] == "BwYl"
        assert google.iam_policy(f"serviceAccounts/{GSA}")["etag"] == "BwYm"
        with pytest.raises(CheckError) as error:
            google.secret("missing")
    assert error.value.detail == (
        "projects/acme-llm-lab/secrets/missing/versions/latest:access: 404 NOT_FOUND"
        " Secret [projects/123/secrets/missing] not found or has no versions."
    )
    assert starts.read_text().count("started") == 1
    assert [method for method, _ in requests] == ["GET", "GET", "POST", "POST", "GET"]


def test_gcloud_without_an_account_is_the_reason(tmp_path: Path) -> None:
    script, _ = gcloud(tmp_path, code=1)
    google = GoogleApis("acme-llm-lab", Deadline(10), str(script), ("http://127.0.0.1:9",) * 3)
    with pytest.raises(CheckError) as error:
        google.secret("litellm-master-key")
    assert (error.value.detail, error.value.next_step) == (
        "gcloud has no signed-in account (gcloud auth print-access-token failed)",
        "gcloud auth login",
    )
