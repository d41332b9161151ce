"""`python -m bench.growth` (or `make bench-growth BENCH_GROWTH_ARGS="..."`):
how the returnee flow's latency grows with the data stored.

    python -m bench.growth                                 # 1k, 10k, 100k closed linkages
    python -m bench.growth --sizes 200,1000 --samples 20   # the smoke run (a few minutes)
    python -m bench.growth --backend sqlite                # FerretDB's backend (default: stack.sh's)

It starts a private stack (scripts/stack.sh with a STACK_DIR of its own
under /tmp, on free ports; the local stack is never touched) and the five
services as processes on it, drives a few template returnees through the
whole flow, and grows the data to each size by a faithful bulk copy of what
the services wrote for them (bench/clone.py). At each size it times every
endpoint of the flow (bench/growth_endpoints.py) and the periodic passes
(bench/growth_passes.py). Results: a table on the terminal, results.json and
a plot under bench-results/growth-<timestamp>/. See BENCHMARKS.md, "Data growth".
"""
import argparse
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

# As `linkage run` does: eventlet's green DNS resolver breaks pymongo.
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

from pymongo import MongoClient  # noqa: E402

from bench import aging, growth_passes, growth_report, report, templates  # noqa: E402
from bench.clone import Cloner, Plan, counts, keyrings, snapshot  # noqa: E402
from bench.growth_endpoints import Endpoints  # noqa: E402
from bench.identities import People  # noqa: E402
from faults.fleet import Fleet  # noqa: E402
from faults.stack import PrivateStack, port_free  # noqa: E402
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VERIFIED_PER_SIZE = 3
MOVES_IN_FLIGHT = 5


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    numbers = lambda text: [int(float(x)) for x in text.split(",") if x]
    parser.add_argument("--sizes", type=numbers, default=[1000, 10000, 100000],
                        help="closed linkages stored at each measurement (default 1000,10000,100000)")
    parser.add_argument("--samples", type=int, default=200, help="requests per endpoint per size")
    parser.add_argument("--open-set", type=int, default=20,
                        help="returnees registered, read and decided per round: the open working set")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per endpoint first")
    parser.add_argument("--templates", type=int, default=20,
                        help="returnees driven through the real flow and then copied")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default=None,
                        help="FerretDB's backend (default: scripts/stack.sh's default)")
    parser.add_argument("--spacing", type=float, default=300.0,
                        help="seconds between two copies' histories (copies lie in the past)")
    parser.add_argument("--pass-repeat", type=int, default=10, help="runs of each periodic pass")
    parser.add_argument("--out", default="bench-results", help="directory for the results")
    parser.add_argument("--keep-stack", action="store_true",
                        help="leave the private stack and services running at the end")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--no-install", action="store_true", help="never pip-install matplotlib")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a service setting (environment variable) for the five services")
    args = parser.parse_args(argv)
    args.service_settings = {}
    for item in args.setting:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error("--setting takes NAME=VALUE, not %r" % item)
        args.service_settings[name] = value
    if sorted(args.sizes) != args.sizes or args.sizes[0] < args.templates:
        parser.error("--sizes must grow and start at --templates (%d) or more" % args.templates)
    return args


class GrowthStack(PrivateStack):
    """faults/stack.py's private stack, on the chosen FerretDB backend and a
    PostgreSQL port of its own (the default 55432 may be someone else's)."""

    def __init__(self, backend, log):
        ident = uuid.uuid4().hex[:8]
        super().__init__(directory="/tmp/linkage-growth-%s" % ident, log=log)
        self.backend = backend
        self.node = "growth-%s@localhost" % self.id
        self.pg_port = getattr(self, "postgres_port", None) or _free_port(34000, 36000)

    def env(self):
        env = super().env()
        env.pop("FERRETDB_HANDLER", None)
        if self.backend:
            env["FERRETDB_HANDLER"] = self.backend
        env["PG_PORT"] = str(self.pg_port)
        return env

    def database(self):
        """What actually serves the database, read from its command line."""
        for kind in ("ferretdb", "mongod"):
            try:
                pid = (self.dir / kind / "pid").read_text().split()[0]
                words = Path("/proc/%s/cmdline" % pid).read_bytes().decode().split("\0")
            except (OSError, IndexError):
                continue
            handler = [w.split("=", 1)[1] for w in words if w.startswith("--handler=")]
            return "%s %s" % (kind, handler[0]) if handler else kind
        return "unknown"

    def disk_bytes(self):
        total = 0
        for part in ("ferretdb/data", "postgres/data", "mongod/data"):
            for root, _, files in os.walk(self.dir / part):
                for name in files:
                    try:
                        total += os.path.getsize(os.path.join(root, name))
                    except OSError:
                        pass
        return total


def _free_port(low, high):
    import random
    for _ in range(200):
        port = random.randrange(low, high)
        if port_free(port):
            return port
    raise RuntimeError("no free port in %d-%d" % (low, high))


def conditions(args, stack):
    def version(package):
        try:
            return importlib.metadata.version(package)
        except Exception:
            return None

    def git(*words):
        try:
            return subprocess.run(["git", *words], capture_output=True, text=True, timeout=5,
                                  cwd=REPO).stdout.strip()
        except Exception:
            return None
    cpu = ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except Exception:
        pass
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "label": args.label,
        "machine": {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "load_average_at_start": os.getloadavg(),
        "database": stack.database(), "stack_dir": str(stack.dir),
        "versions": {m: version(m) for m in ("nameko", "pymongo", "eventlet", "marshmallow")},
        "git": {"commit": git("rev-parse", "--short", "HEAD"),
                "changed_files": [line[3:] for line in (git("status", "--porcelain",
                                                            "--untracked-files=no") or "").splitlines()]},
        "args": {k: v for k, v in vars(args).items()},
    }


def storage(client, databases, stack):
    stats = {}
    for name in databases:
        try:
            answer = client[name].command("dbStats")
            stats[name] = {key: answer[key] for key in ("objects", "dataSize", "storageSize",
                                                        "indexSize", "totalSize") if key in answer}
        except Exception as exc:
            stats[name] = {"error": str(exc)}
    return {"databases": stats, "disk_bytes": stack.disk_bytes()}


# The public reads that show a returnee's records, at each party.
READS = [(COMMITTEE, "/api/v1/returnees/%s", None), (POLICE, "/api/v1/checks/%s", None),
         (PROPERTY, "/api/v1/passes", "returnee_id"), (DEVELOPER, "/api/v1/housing-checks", "returnee_id"),
         (FLOATING, "/api/v1/registrations", "returnee_id")]


def verify_api(desks, cloner, kept):
    """Each kept clone answers every party's read exactly as its template
    does, with the clone's ids and times: [mismatches]."""
    mismatches = []
    for number, (returnee_id, mapping) in kept.items():
        template_id = cloner.plan.template_ids[cloner.template_of(number)]
        expected = cloner.rewriter(mapping, cloner.shift(number))
        for agency, path, param in READS:
            def read(some_id):
                if param:
                    return desks.get(agency, path, **{param: some_id})
                return desks.get(agency, path % some_id)
            template, clone = read(template_id), read(returnee_id)
            if clone.status_code != template.status_code or (
                    clone.status_code == 200 and clone.json() != expected(template.json())):
                mismatches.append({"clone": returnee_id, "template": template_id, "agency": agency,
                                   "status": clone.status_code, "body": clone.text[:500],
                                   "expected": str(expected(template.json()))[:500]})
    return mismatches


def grow(client, cloner, databases, count, log):
    """Copy `count` more linkages; the copy's record. `insert_many` raises
    unless every document is acknowledged; then each database must have grown
    by what was copied into it, give or take MOVES_IN_FLIGHT: the services'
    archive pass keeps moving copies that come of age from a collection to
    its archive, and a document caught between its copy and its delete
    counts twice."""
    before = counts(client, databases)
    started = time.time()
    ids, inserted = cloner.copy(client, count, log=log) if count else ([], {})
    seconds = time.time() - started
    after = counts(client, databases)
    differ = {"%s.%s" % key: {"copied": inserted.get(key, 0), "added": after.get(key, 0) - before.get(key, 0)}
              for key in set(before) | set(after) | set(inserted)
              if after.get(key, 0) - before.get(key, 0) != inserted.get(key, 0)}
    total = lambda table, db: sum(n for (name, _), n in table.items() if name == db)
    wrong = {db: {"copied": total(inserted, db), "added": total(after, db) - total(before, db)}
             for db in databases
             if abs(total(after, db) - total(before, db) - total(inserted, db)) > MOVES_IN_FLIGHT}
    return ids, {"clones": count, "documents": sum(inserted.values()), "seconds": round(seconds, 1),
                 "documents_per_second": round(sum(inserted.values()) / seconds, 1) if seconds else None,
                 "into": {"%s.%s" % key: n for key, n in sorted(inserted.items())},
                 "count_mismatches": wrong, "moved_meanwhile": differ if not wrong else {}}


class GrowthRun:
    """One run: the stack and the services, the templates, then each size."""

    def __init__(self, args, log, out_dir, results, save):
        self.args, self.log, self.out_dir = args, log, out_dir
        self.results, self.save = results, save
        self.stack = GrowthStack(args.backend, log)
        self.fleet = None

    def start(self):
        args, stack = self.args, self.stack
        self.log("private stack in %s (AMQP %d, database %d, %s)" % (
            stack.dir, stack.amqp_port, stack.mongo_port,
            "backend %s" % args.backend if args.backend else "stack.sh's default backend"))
        stack.up()
        self.results["conditions"] = conditions(args, stack)
        self.log("database: %s" % self.results["conditions"]["database"])
        self.fleet = Fleet(stack, self.out_dir / "logs", args.service_settings)
        self.fleet.start()
        urls = {service: self.fleet.url(service) for service in ALL}
        self.log("five services healthy: %s" % ", ".join("%s %s" % item for item in urls.items()))
        self.client = MongoClient(stack.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10000)
        self.desks = templates.Desks(urls)
        self.people = People(seed=args.seed)
        self.endpoints = Endpoints(self.desks, self.people, log=self.log, seed=args.seed)

    def prepare(self):
        """The templates through the flow, read back, aged: the copy's plan."""
        args, log = self.args, self.log
        log("driving %d template returnees through the flow" % args.templates)
        template_ids = templates.drive(self.desks, self.people, args.templates, log=log)
        templates.wait_quiet(self.client, ALL, self.stack.queues)
        taken_at = datetime.now(timezone.utc)
        documents = snapshot(self.client, ALL)
        archived, age = aging.aged(self.client, documents, args.service_settings)
        plan = Plan(documents, template_ids, archived, age, taken_at,
                    keyrings(ALL, aging.settings_config(args.service_settings)))
        summary = self.results["copy"] = plan.summary()
        log("  template linkage: %s" % summary["documents_per_linkage"])
        if archived is not None:
            log("  archived (older than %s): %s" % (age, summary["documents_per_archived_linkage"]))
        if plan.shared:
            log("  WARNING: documents shared by several templates are not copied: %s"
                % summary["not_copied_shared"])
        self.cloner = Cloner(plan, args.spacing, seed=args.seed)
        self.closed_ids = list(template_ids)
        self.closed = len(template_ids)

    def grow_to(self, size):
        self.log("size %d: copying %d linkages" % (size, size - self.closed))
        ids, copy = grow(self.client, self.cloner, ALL, size - self.closed, self.log)
        kept = self.cloner.kept(VERIFIED_PER_SIZE) if ids else {}
        copy["api_mismatches"] = verify_api(self.desks, self.cloner, kept)
        self.log("  copied %d documents in %.0fs; counts %s%s; %d clones read back through every "
                 "party's API: %s" % (
                     copy["documents"], copy["seconds"],
                     "as expected" if not copy["count_mismatches"] else "WRONG %s" % copy["count_mismatches"],
                     " (%s moved by the archive pass meanwhile)" % copy["moved_meanwhile"]
                     if copy["moved_meanwhile"] else "", len(kept),
                     "identical to their templates" if not copy["api_mismatches"] else
                     "%d MISMATCHES" % len(copy["api_mismatches"])))
        self.closed_ids += ids
        self.closed = size
        return copy

    def measure(self, copy):
        """One size's entry: what is stored, the endpoints, the passes."""
        args = self.args
        entry = {"closed_linkages": self.closed, "backend": self.results["conditions"]["database"],
                 "copy": copy}
        collections = counts(self.client, ALL)
        entry["documents"] = sum(collections.values())
        entry["collections"] = {"%s.%s" % key: n for key, n in sorted(collections.items())}
        entry["storage"] = storage(self.client, ALL, self.stack)
        self.log("  %d documents stored, %.0f MB on disk; timing the endpoints (%d samples, open set %d)"
                 % (entry["documents"], entry["storage"]["disk_bytes"] / 1e6, args.samples, args.open_set))
        started = time.time()
        entry["load_average_before"] = os.getloadavg()
        entry["endpoints"], registered = self.endpoints.measure(self.closed_ids, args.samples,
                                                                args.open_set, args.warmup)
        entry["load_average_after"] = os.getloadavg()
        entry["endpoint_seconds"] = round(time.time() - started, 1)
        entry["open_working_set"] = args.open_set
        entry["registered_while_measuring"] = registered + args.warmup
        self.closed += registered + args.warmup
        self.log("  load average %.1f before, %.1f after (%d cores); timing the periodic passes"
                 % (entry["load_average_before"][0], entry["load_average_after"][0], os.cpu_count()))
        entry["passes"] = growth_passes.measure(self.client, self.stack.mongo_uri, repeat=args.pass_repeat,
                                                config=aging.settings_config(args.service_settings))
        return entry

    def stop(self):
        if self.fleet is not None:
            self.fleet.stop()
        if self.args.keep_stack:
            env = self.stack.env()
            self.log("stack left running; to stop it: %s scripts/stack.sh down --purge" % " ".join(
                "%s=%s" % (name, env[name]) for name in ("STACK_DIR", "AMQP_URI", "MONGO_URI",
                                                          "RABBIT_API_URI", "RABBIT_NODE", "PG_PORT")))
        else:
            self.stack.down()


def run(args, log, out_dir, results, save):
    growth = GrowthRun(args, log, out_dir, results, save)
    try:
        growth.start()
        growth.prepare()
        for size in args.sizes:
            results["sizes"].append(growth.measure(growth.grow_to(size)))
            save()
            print(growth_report.table(results["sizes"]), flush=True)
    finally:
        growth.stop()


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    log = lambda message: print("[%5.0fs] %s" % (time.time() - started, message), flush=True)
    out_dir = REPO / args.out / ("growth-%s" % time.strftime("%Y%m%d-%H%M%S"))
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {"conditions": {}, "copy": {}, "sizes": []}

    def save():
        results["verdict"] = {"endpoints": growth_report.verdict(results["sizes"]),
                              "passes": growth_report.verdict(results["sizes"], "passes")}
        results["seconds"] = round(time.time() - started, 1)
        report.write_json(str(out_dir / "results.json"), results)

    try:
        run(args, log, out_dir, results, save)
    finally:
        save()
    print()
    print(growth_report.table(results["sizes"]))
    print()
    print(growth_report.table(results["sizes"], "passes"))
    print()
    judged = results["verdict"]["endpoints"]
    if judged:
        missed = sorted(name for name, row in judged.items() if not row["met"] and not row.get("control"))
        print("goal: p99 at the largest size within %.1fx of p99 at the smallest: %s" % (
            growth_report.GOAL_RATIO, "met by every endpoint" if not missed else
            "NOT met by %s" % ", ".join(missed)))
    print("results: %s" % (out_dir / "results.json"))
    if not args.no_plot and results["sizes"]:
        png = growth_report.plot(str(out_dir / "growth.png"), results["sizes"], install=not args.no_install)
        print("plot:    %s" % png if png else
              "plot:    skipped (matplotlib missing: .venv/bin/pip install matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
