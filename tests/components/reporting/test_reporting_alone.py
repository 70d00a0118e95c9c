"""The Reporting component built alone under the mock engine, from its Args only."""

from __future__ import annotations

import pytest

from components.database.endpoint import endpoint
from components.reporting.component import Reporting, ReportingArgs
from tests.support.config import alone_config
from tests.support.program import EXTERNAL_ENGINE, run_components


@pytest.mark.parametrize("overrides", [(), EXTERNAL_ENGINE])
def test_reporting_alone_runs_only_after_its_sql_and_network_policies(overrides: tuple[str, ...]) -> None:
    cfg = alone_config("lab", overrides)
    db = endpoint(cfg, "unused-gsm-id")

    def program() -> None:
        Reporting("reporting", ReportingArgs.from_config(cfg, db))

    run = run_components(program)
    assert {r.parent for r in run.resources if r.name != "reporting"} == {"reporting"}
    (job,) = run.of_type("kubernetes:batch/v1:CronJob")
    waits_for = set(job.options["dependencies"])
    others = {r.name for r in run.resources} - {"reporting", job.name}
    assert others and others <= waits_for, "the first run could start before its SQL or its egress exists"
    env = {
        e["name"]: e
        for e in job.plain_inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["PGHOST"]["value"] == db.host
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == db.reporting_secret
