"""The engine of `python -m tools.verify STACK`: checks that prove a deployed stack works.

- `verify.sources`: the contract of a check (`CheckError`, `NotApplicableError`, `Deadline`) and the
  interfaces of the live sources (cluster, Google, network, database), with plain HTTP;
- `verify.kube`: the Kubernetes API over HTTPS with the kubeconfig (docs/decisions.md);
- `verify.google`, `verify.network`: GSM/IAM over REST; DNS, TLS and PostgreSQL;
- `verify.checks`, `verify.web`: the checks (what each expects comes from the program's own render);
- `verify.run`: the list of checks, running them at once within `--timeout`, the output.

Floors (tests/test_imports.py): config < dashboards < components < verify < tools.
"""
