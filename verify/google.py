"""GSM and IAM over REST, as whoever `gcloud` is signed in as: one `gcloud auth print-access-token`
per run (not one gcloud start per secret). `apis`: the three services' base URLs (the tests' loopback)."""

from __future__ import annotations

import base64
import subprocess
import threading
from typing import Any

from verify.sources import CheckError, Deadline, http

SECRET_MANAGER = "https://secretmanager.googleapis.com"
RESOURCE_MANAGER = "https://cloudresourcemanager.googleapis.com"
IAM = "https://iam.googleapis.com"


class GoogleApis:
    def __init__(
        self, project: str, deadline: Deadline, gcloud: str = "gcloud", apis: tuple[str, str, str] | None = None
    ) -> None:
        self.project, self._deadline, self._gcloud = project, deadline, gcloud
        self._secrets, self._projects, self._iam = apis or (SECRET_MANAGER, RESOURCE_MANAGER, IAM)
        self._lock = threading.Lock()
        self._token: str | None = None

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None:
                argv = [self._gcloud, "auth", "print-access-token"]
                try:
                    done = subprocess.run(argv, capture_output=True, timeout=self._deadline.left(), check=False)
                except (OSError, subprocess.TimeoutExpired) as error:
                    raise CheckError(
                        f"gcloud auth print-access-token: {error}", "install and sign in to gcloud"
                    ) from None
                if done.returncode != 0:
                    raise CheckError(
                        "gcloud has no signed-in account (gcloud auth print-access-token failed)", "gcloud auth login"
                    )
                self._token = done.stdout.decode().strip()
            return self._token

    def _call(self, url: str, post: bool = False) -> Any:
        answer = http(
            url,
            self._deadline.left(),
            headers={"Authorization": f"Bearer {self._bearer()}"},
            body={} if post else None,
            method="POST" if post else "GET",
        )
        if answer.status != 200:
            error = (answer.json() or {}).get("error") or {}
            resource = url.split("/v1/", 1)[-1]
            raise CheckError(
                f"{resource}: {answer.status} {error.get('status', '')} {error.get('message', '')}".strip(),
                "the account gcloud uses needs read access to it (secretAccessor, or a viewer role for IAM policies)",
            )
        return answer.json()

    def secret(self, secret_id: str) -> str:
        url = f"{self._secrets}/v1/projects/{self.project}/secrets/{secret_id}/versions/latest:access"
        return base64.b64decode(self._call(url)["payload"]["data"]).decode()

    def iam_policy(self, resource: str) -> dict[str, Any]:
        if resource == "project":
            url = f"{self._projects}/v1/projects/{self.project}:getIamPolicy"
        elif resource.startswith("serviceAccounts/"):
            url = f"{self._iam}/v1/projects/-/{resource}:getIamPolicy"
        else:
            url = f"{self._secrets}/v1/projects/{self.project}/{resource}:getIamPolicy"
        policy: dict[str, Any] = self._call(url, post=not resource.startswith("secrets/"))
        return policy
