"""Benchmark the tenants reconciler (components/tenants/reconciler.py) over many unchanged keys.

    python -m bench.reconciler [--teams 334] [--keys-per-team 3] [--runs 5] [--rtt-ms 2]

Against the in-process fake of LiteLLM's management API and of Secret Manager
(tests/support/litellm_fake.py): a first run registers everything, then `--runs` runs with no change
are measured. Prints, per unchanged run: LiteLLM writes (must be 0), LiteLLM list calls (must be 1:
`GET /team/list` returns every team with its keys), other LiteLLM reads (must be 0), GSM reads and
writes, and the wall time of the reconciler's own work (median, p95). `--rtt-ms` turns call counts
into the time the calls would add in a cluster at that round trip (the reconciler calls one at a time).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench import positive_int
from tests.support.litellm_fake import Tenants, document, key_doc, team_doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reconciler", description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=positive_int, default=334)
    parser.add_argument("--keys-per-team", type=positive_int, default=3)
    parser.add_argument("--runs", type=positive_int, default=5)
    parser.add_argument("--rtt-ms", type=float, default=2.0, help="a call's round trip in the cluster (estimate)")
    args = parser.parse_args(argv)
    teams = [team_doc(f"team-{t:04d}") for t in range(args.teams)]
    keys = [key_doc(f"key-{t:04d}-{k}", f"team-{t:04d}") for t in range(args.teams) for k in range(args.keys_per_team)]
    doc = document(teams, keys)
    tenants = Tenants()
    started = time.perf_counter()
    first = tenants.run(doc)
    first_s = time.perf_counter() - started
    first_calls = len(tenants.api.calls)
    assert first.code == 0, first.err[:5]
    print(f"{len(teams)} teams, {len(keys)} keys")
    print(f"first run: {first.writes} writes ({tenants.api.writes} LiteLLM, {tenants.gsm.adds} GSM), {first_s:.2f} s")
    times: list[float] = []
    for _ in range(args.runs):
        calls, adds, reads = len(tenants.api.calls), tenants.gsm.adds, tenants.gsm.reads
        started = time.perf_counter()
        run = tenants.run(doc)
        times.append(time.perf_counter() - started)
        made = tenants.api.calls[calls:]
        litellm_writes = sum(1 for method, _, _ in made if method != "GET")
        lists = sum(1 for method, path, _ in made if (method, path) == ("GET", "/team/list"))
        other_reads = sum(1 for method, path, _ in made if method == "GET" and path != "/team/list")
        gsm_reads, gsm_writes = tenants.gsm.reads - reads, tenants.gsm.adds - adds
        assert run.code == 0 and run.writes == 0 and litellm_writes == 0 and lists == 1 and other_reads == 0
    print(
        f"unchanged run (x{args.runs}): LiteLLM writes {litellm_writes}, list calls {lists}, "
        f"other reads {other_reads}; GSM reads {gsm_reads}, GSM writes {gsm_writes}"
    )
    p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
    print(
        f"reconciler time per unchanged run: median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    rtt = args.rtt_ms / 1000
    per_key = len(keys) * rtt
    print(
        f"at {args.rtt_ms:g} ms per call: LiteLLM {lists * rtt * 1000:.0f} ms (one read per key: {per_key:.1f} s; "
        f"/key/list pages of 100: {-(-len(keys) // 100) * rtt * 1000:.0f} ms), GSM {gsm_reads * rtt:.1f} s"
    )
    print(f"first run calls to LiteLLM: {first_calls}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
