"""`python -m faults` (or `make faults`): the fault-injection scenarios, each
on a private stack, with a ledger of every accepted registration at every
party. Exits non-zero if anything was lost or duplicated, or a scenario's
own check failed.

    python -m faults                        # all seven, full length (scenario 7: a 10-minute outage)
    python -m faults --quick                # all seven, short (a few minutes in all)
    python -m faults --scenario 3 --scenario 4
    python -m faults --scenario 7 --outage 120

Results: a table on the terminal, a JSON file per run and the services'
logs under faults-results/. See RELIABILITY.md.
"""
import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

# As `linkage run` does: eventlet's green DNS resolver breaks pymongo.
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

from faults import report  # noqa: E402
from faults.run import Run, out_dir_for  # noqa: E402
from faults.scenarios import SCENARIOS  # noqa: E402
from shared.parties import COMMITTEE  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=int, action="append", choices=sorted(SCENARIOS),
                        help="run this scenario (repeatable; default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="short loads and faults (scenario 7: a 15 s outage)")
    parser.add_argument("--outage", type=float, default=None,
                        help="seconds scenario 7's party stays down (default 600, quick 15)")
    parser.add_argument("--rate", type=float, default=None, help="registrations per second")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load")
    parser.add_argument("--committee-replicas", type=int, default=None,
                        help="committee replicas in scenario 6 (default 2)")
    parser.add_argument("--out", default="faults-results", help="directory for results and logs")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    log = lambda message: print("[%5.0fs] %s" % (time.time() - started, message), flush=True)
    base = Path(args.out) / time.strftime("faults-%Y%m%d-%H%M%S")
    results = []
    for number in args.scenario or sorted(SCENARIOS):
        scenario = SCENARIOS[number]()
        if args.committee_replicas and number == 6:
            scenario.replicas = {COMMITTEE: args.committee_replicas}
        load = scenario.load(args.quick, args.outage)
        if args.rate:
            load.rate = args.rate
        if args.duration:
            load.duration = args.duration
        log("scenario %d: %s%s" % (number, scenario.title, " (quick)" if args.quick else ""))
        run = Run(scenario, load, log, out_dir_for(base, number))
        began = time.time()
        try:
            result = run.execute()
        except Exception as exc:
            traceback.print_exc()
            result = {"scenario": number, "title": scenario.title, "ok": False,
                      "error": "%s: %s" % (type(exc).__name__, exc)}
        result["seconds"] = round(time.time() - began, 1)
        result["quick"] = args.quick
        run.save(result)
        results.append(result)
        log("scenario %d: %s in %.0fs" % (number, "PASS" if result["ok"] else "FAIL",
                                          result["seconds"]))
        for finding in result.get("findings", []):
            log("  finding: %s" % finding)
    (base / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (base / "results.md").write_text(report.markdown(results) + "\n")
    print()
    print(report.text(results))
    print()
    print("results: %s (results.md: the table for RELIABILITY.md)" % base)
    failed = [r["scenario"] for r in results if not r["ok"]]
    print("%d passed, %d failed" % (len(results) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
