"""No credential decryptable by a mere stack reader (docs/security.md, Finding 5): a stack marked
`data_safety.production` must encrypt its state with a KMS secrets provider, read from the stack
file's `secretsprovider` where the program starts; otherwise one error (exit 2 in the preview, a
ConfigError in the program) names the file, the key and the command that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, parse_config
from config.checks import KMS_SECRETS_PROVIDERS, StackSettings
from config.load import read_stack_settings
from offline.run import run_config
from offline.stackfile import overridden_config, stack_settings
from tests.support.config import alone_config, namespace
from tools.preview import main as preview_main

REMEDY = 'pulumi stack change-secrets-provider "gcpkms://projects/{project}/locations/L/keyRings/R/cryptoKeys/K"'


def test_enterprise_is_production_on_a_cloud_kms_key_of_its_project_and_lab_is_not() -> None:
    enterprise, lab = alone_config("enterprise"), alone_config("lab")
    assert enterprise.data_safety.production and not lab.data_safety.production
    provider = stack_settings("enterprise").secrets_provider
    assert provider is not None
    assert provider.startswith(f"gcpkms://projects/{enterprise.gcp.project}/locations/")
    assert "/keyRings/" in provider and "/cryptoKeys/" in provider
    assert stack_settings("lab").secrets_provider is None


def test_the_preview_refuses_a_production_stack_on_the_default_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert preview_main(["lab", "--set", "llm-gateway:data_safety.production=true"]) == 2
    err = capsys.readouterr().err
    assert "error: --set llm-gateway:data_safety.production: invalid stack config (1 problem):" in err
    assert "  - llm-gateway:data_safety.production: true, but Pulumi.lab.yaml has no `secretsprovider`" in err
    assert REMEDY.format(project="acme-llm-lab") in err
    assert "Traceback" not in err


def test_the_program_reads_its_stack_file_and_refuses_without_one() -> None:
    """`pulumi up` on a production stack whose file names no provider (here: no file at all)."""
    with pytest.raises(ConfigError) as info:
        run_config("prod-copy", overridden_config("enterprise"))
    message = str(info.value)
    assert "Pulumi.prod-copy.yaml has no `secretsprovider` (the default provider)" in message
    assert REMEDY.format(project="acme-llm-prod") in message


@pytest.mark.parametrize(
    ("provider", "refused"),
    [
        ("passphrase", True),
        ("default", True),
        ("gcpkms://projects/acme-llm-prod/locations/europe-west1/keyRings/r/cryptoKeys/k", False),
        ("awskms://alias/pulumi?region=eu-west-1", False),
        ("azurekeyvault://v.vault.azure.net/keys/pulumi", False),
        ("hashivault://pulumi", False),
    ],
)
def test_only_a_kms_provider_satisfies_production(provider: str, refused: bool, tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(f"secretsprovider: {provider}\nencryptedkey: AAAA\nconfig: {{}}\n")
    settings = read_stack_settings(stack_file)
    assert settings == StackSettings("Pulumi.prod.yaml", provider)
    if refused:
        with pytest.raises(ConfigError, match=rf"has `secretsprovider: {provider}`, not a KMS \(gcpkms://"):
            parse_config(namespace("enterprise"), stack=settings)
    else:
        assert parse_config(namespace("enterprise"), stack=settings).data_safety.production
    assert len(KMS_SECRETS_PROVIDERS) == 4


def test_a_non_production_stack_may_use_the_default_provider() -> None:
    assert not parse_config(namespace("lab"), stack=StackSettings("Pulumi.lab.yaml", None)).data_safety.production


def test_production_must_be_decided() -> None:
    raw = namespace("lab")
    del raw["data_safety"]["production"]
    with pytest.raises(ConfigError, match=r"llm-gateway:data_safety\.production: required key is missing"):
        parse_config(raw)
