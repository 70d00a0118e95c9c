"""`python -m tools.verify` as a user runs it: the stack loaded from its file, bad input refused with
exit 2 and no traceback, and a kubeconfig without the stack's context named as the reason (exit 1)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support import captured


def verify(*args: str, kubeconfig: Path) -> tuple[int, str, str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    done = captured([sys.executable, "-m", "tools.verify", *args], env=env)
    return done.returncode, done.stdout, done.stderr


def test_bad_input_is_one_message_and_exit_2(tmp_path: Path) -> None:
    code, out, err = verify("lab", "--only", "secret", "--timeout", "-1", kubeconfig=tmp_path / "none")
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert (
        "--only: unknown check secret (checks: secrets, reach," in err and "--timeout -1.0: must be more than 0" in err
    )


def test_an_unknown_stack_is_refused_without_a_traceback(tmp_path: Path) -> None:
    code, _out, err = verify("no-such-stack", kubeconfig=tmp_path / "none")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: ") and "Pulumi.no-such-stack.yaml" in err


def test_the_stacks_context_missing_from_the_kubeconfig_is_the_reason(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: minikube\n  context: {cluster: m, user: m}\n"
    )
    code, out, _ = verify("lab", kubeconfig=kubeconfig)
    assert code == 1
    assert out.splitlines() == [
        "✗ kube context: kube context 'gke_acme-llm-lab_europe-west1-b_llm-lab' is not in the kubeconfig (contexts: minikube)",
        "  next: --context CTX",
    ]
