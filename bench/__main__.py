"""`python -m bench` (or `make bench BENCH_ARGS="..."`): the returnee-linkage
benchmark and its bare-kombu ceiling, on the local stack.

    python -m bench                                # the default run (< 10 min)
    python -m bench --rates 10,50 --duration 30    # other rate steps
    python -m bench --profile                      # and py-spy the services
    python -m bench --skip-ceiling --no-plot

The stack is whatever AMQP_URI, MONGO_URI and RABBIT_API_URI name (default:
the local one `make stack` starts). Results: a table on the terminal, a JSON
file and a PNG plot under bench-results/. See BENCHMARKS.md.
"""
import argparse
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone

# As `linkage run` does: eventlet's green DNS resolver breaks pymongo.
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

from bench import probes, report  # noqa: E402
from shared.auth import development_key  # noqa: E402
from shared.settings import DEVELOPMENT_SECRET  # noqa: E402

GOAL_RATE = 200.0
GOAL_P99 = 1.0
GOAL_RATIO = 0.5


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    rates = lambda text: [float(x) for x in text.split(",") if x]
    parser.add_argument("--rates", type=rates, default=[5, 10, 25, 50, 100, 200],
                        help="registration rate steps, per second (default 5,10,25,50,100,200)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per step")
    parser.add_argument("--drain-timeout", type=float, default=60,
                        help="seconds to wait, after a phase's last send, for the system to catch up")
    parser.add_argument("--catch-up-timeout", type=float, default=240,
                        help="seconds more to wait when a step did not drain, so its ledger can "
                             "tell lost registrations from late ones")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every rate step even after one could not keep up")
    parser.add_argument("--non-local-share", type=float, default=0.4,
                        help="share of registrations without local hukou (default 0.4)")
    parser.add_argument("--ceiling-rates", type=rates, default=[25, 200],
                        help="rate steps of the bare kombu ceiling (default 25,200)")
    parser.add_argument("--ceiling-duration", type=float, default=10)
    parser.add_argument("--ceiling-threads", type=int, default=4,
                        help="threads per ceiling process (producers, consumers)")
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--skip-platform", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="one more step with py-spy sampling the five services")
    parser.add_argument("--profile-rate", type=float, default=None,
                        help="rate of the profiled step (default: the highest rate that ran)")
    parser.add_argument("--out", default="bench-results", help="directory for the JSON and the plot")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--no-install", action="store_true",
                        help="never pip-install matplotlib or py-spy; skip what needs them")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a service setting (environment variable) for the platform's five "
                             "services, over the bench's own (repeatable)")
    args = parser.parse_args(argv)
    args.service_settings = dict(PRODUCT_RELAY)
    for item in args.setting:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error("--setting takes NAME=VALUE, not %r" % item)
        args.service_settings[name] = value
    return args


# The services run with the product's relay defaults (shared/settings.py), not
# the end-to-end tests' faster ones (a scan every 2 s reads every document of
# every collection, which on FerretDB/SQLite costs more as the data grows).
PRODUCT_RELAY = {"OUTBOX_POLL_SECONDS": "1.0", "OUTBOX_SCAN_SECONDS": "30"}


def conditions(args):
    """What the numbers depend on, recorded with them."""
    def version(package):
        try:
            return importlib.metadata.version(package)
        except Exception:
            return None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=5).stdout.strip())
    except Exception:
        commit, dirty = None, None
    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu_model = next(line.split(":", 1)[1].strip() for line in handle
                             if line.startswith("model name"))
    except Exception:
        pass
    from tests.system import AMQP_BASE, MONGO_URI
    others = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    if b"nameko" in handle.read():
                        others += 1
            except OSError:
                pass
    return {
        "started_at": datetime.now(timezone.utc).isoformat(),
        "label": args.label,
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model, "python": platform.python_version(),
                    "kernel": platform.release(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "load_average_at_start": os.getloadavg(),
        "nameko_processes_running_at_start": others,
        "stack": {"amqp": AMQP_BASE, "mongo": MONGO_URI, "rabbitmq": probes.broker_version(),
                  "database": database_version(MONGO_URI)},
        "versions": {m: version(m) for m in ("nameko", "kombu", "amqp", "pymongo", "eventlet",
                                             "marshmallow")},
        "git": {"commit": commit, "dirty": dirty},
        "args": {k: v for k, v in vars(args).items()},
    }


def database_version(uri):
    try:
        from pymongo import MongoClient
        client = MongoClient(uri, serverSelectionTimeoutMS=3000)
        info = client.admin.command("buildInfo")
        client.close()
        return {"mongodb_compatible": info.get("version"), "ferretdb": info.get("ferretdbVersion")}
    except Exception as exc:
        return {"error": str(exc)}


def keeping_up(step):
    """Did the step's backlog clear and the system keep pace with the offer?"""
    return (step["drained"] and step["closed_all"]
            and step["dispatched_per_second"] >= 0.9 * step["offered_per_second"])


def run_platform(args, log):
    from bench.linkage import LinkageBench
    secret = os.environ.get("LINKAGE_SECRET")
    # The services it starts share the environment: one key if it is set,
    # else each agency's development key (shared/auth.py).
    keys = (lambda agency: secret) if secret else (
        lambda agency: development_key(DEVELOPMENT_SECRET, agency))
    bench = LinkageBench(keys, non_local_share=args.non_local_share,
                         drain_timeout=args.drain_timeout,
                         catch_up_timeout=args.catch_up_timeout, log=log,
                         service_settings=args.service_settings)
    steps, profile = [], None
    log("starting the five services (vhost %s, database prefix %s)"
        % (bench.system.vhost, bench.system.db_prefix))
    bench.start()
    try:
        saturated = None
        for rate in args.rates:
            if saturated is not None and not args.keep_going:
                steps.append({"offered_per_second": rate, "skipped": "could not keep up at %g/s" % saturated})
                continue
            log("platform step: %g registrations/s for %gs" % (rate, args.duration))
            step = bench.step(rate, args.duration)
            steps.append(step)
            log("  dispatched %.1f/s, dispatch p99 %s, drained: %s"
                % (step["dispatched_per_second"], report.seconds(step["dispatch_latency"]["p99"]),
                   step["drained"]))
            if not keeping_up(step):
                saturated = rate
        if args.profile:
            from bench import profile as profiler
            ran = [s["offered_per_second"] for s in steps if not s.get("skipped")]
            rate = args.profile_rate or max(ran)
            log("profiled step: %g registrations/s for %gs, py-spy on the five services"
                % (rate, args.duration))
            directory = os.path.join(args.out, "profile-%s" % time.strftime("%Y%m%d-%H%M%S"))
            if args.no_install and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "py-spy")):
                log("  py-spy is not installed and --no-install: skipping the profile")
            else:
                running = profiler.start(bench.pids, args.duration + 15, directory)
                step = bench.step(rate, args.duration)
                profile = {"rate": rate, "services": profiler.finish(running),
                           "cpu_per_registration": step["cpu"]["per_registration"],
                           "dispatched_per_second": step["dispatched_per_second"]}
    finally:
        bench.stop()
    return steps, profile


def run_ceiling(args, log):
    from bench.ceiling_run import CeilingBench
    ceiling = CeilingBench(threads=args.ceiling_threads, partitions=args.ceiling_threads,
                           drain_timeout=args.drain_timeout, log=log)
    steps = []
    log("starting the bare kombu ceiling (vhost %s)" % ceiling.vhost)
    ceiling.start()
    try:
        for rate in args.ceiling_rates:
            log("ceiling step: %g registrations/s for %gs" % (rate, args.ceiling_duration))
            step = ceiling.step(rate, args.ceiling_duration)
            steps.append(step)
            log("  dispatched %.1f/s, dispatch p99 %s, drained: %s"
                % (step["dispatched_per_second"], report.seconds(step["dispatch_latency"]["p99"]),
                   step["drained"]))
            if not args.keep_going and not step["drained"]:
                break
    finally:
        ceiling.stop()
    return steps


def verdict(platform_steps, ceiling_steps):
    ran = [s for s in platform_steps if not s.get("skipped")]
    sustained = [s for s in ran if s["drained"] and s["closed_all"]
                 and s["dispatch_latency"]["p99"] is not None
                 and s["dispatch_latency"]["p99"] < GOAL_P99
                 and s["dispatched_per_second"] >= 0.95 * s["offered_per_second"]]
    best_sustained = max((s["offered_per_second"] for s in sustained), default=0.0)
    platform_capacity = max((s["dispatched_per_second"] for s in ran), default=0.0)
    ceiling_capacity = max((s["dispatched_per_second"] for s in ceiling_steps), default=0.0)
    # A step still behind when the bench stopped waiting has registrations
    # that are late, not lost: its ledger proves nothing either way.
    checked = [s for s in ran if s.get("caught_up", True)]
    lost = sum(v.get("lost", 0) for s in checked for v in s["ledger"].values())
    duplicated = sum(v.get("duplicated", 0) for s in checked for v in s["ledger"].values())
    ratio = platform_capacity / ceiling_capacity if ceiling_capacity else None
    return {
        "highest_rate_sustained_with_p99_under_1s": best_sustained,
        "platform_throughput_per_second": platform_capacity,
        "ceiling_throughput_per_second": ceiling_capacity,
        "ratio_to_ceiling": ratio,
        "lost": lost, "duplicated": duplicated,
        "steps_whose_ledger_is_unverified": [s["rate"] for s in ran if s not in checked],
        "goal_200_per_second_p99_under_1s": best_sustained >= GOAL_RATE,
        "goal_nothing_lost": lost == 0 and duplicated == 0,
        "goal_ratio_at_least_half": ratio is not None and ratio >= GOAL_RATIO,
    }


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    log = lambda message: print("[%5.0fs] %s" % (time.time() - started, message), flush=True)
    results = {"conditions": conditions(args), "platform": [], "ceiling": [], "profile": None}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = os.path.join(args.out, "bench-%s.json" % stamp)
    try:
        if not args.skip_platform:
            results["platform"], results["profile"] = run_platform(args, log)
        if not args.skip_ceiling:
            results["ceiling"] = run_ceiling(args, log)
    finally:
        results["verdict"] = verdict(results["platform"], results["ceiling"])
        results["conditions"]["load_average_at_end"] = os.getloadavg()
        results["conditions"]["seconds"] = round(time.time() - started, 1)
        report.write_json(json_path, results)

    print()
    if results["platform"]:
        print("PLATFORM (five services; dispatch = 201 until the committee saw all four parties' part;")
        print("          close = police decision's 200 until the linkage closed)")
        print(report.platform_table(results["platform"]))
        print()
        print("CPU ms per registration / per decision, by process (registration phase incl. drain)")
        print(report.cpu_table(results["platform"]))
        print()
    if results["ceiling"]:
        print("CEILING (bare kombu + pymongo: one event to four consumers, four replies to a fifth)")
        print(report.ceiling_table(results["ceiling"]))
        print()
    if results["profile"]:
        from bench import profile as profiler
        print("PROFILE at %g/s" % results["profile"]["rate"])
        print(profiler.text(results["profile"]["services"]))
        print()
    v = results["verdict"]
    print("highest rate sustained with dispatch p99 < 1 s: %g/s (goal %g/s): %s"
          % (v["highest_rate_sustained_with_p99_under_1s"], GOAL_RATE,
             "met" if v["goal_200_per_second_p99_under_1s"] else "NOT met"))
    if v["ratio_to_ceiling"] is not None:
        print("throughput: platform %.1f/s, bare kombu ceiling %.1f/s, ratio %.2f (goal >= %.1f): %s"
              % (v["platform_throughput_per_second"], v["ceiling_throughput_per_second"],
                 v["ratio_to_ceiling"], GOAL_RATIO, "met" if v["goal_ratio_at_least_half"] else "NOT met"))
    print("lost %d, duplicated %d: %s" % (v["lost"], v["duplicated"],
                                         "met" if v["goal_nothing_lost"] else "NOT met"))
    if v["steps_whose_ledger_is_unverified"]:
        print("  (not checked at %s/s: still behind when the bench stopped waiting)"
              % ", ".join("%g" % r for r in v["steps_whose_ledger_is_unverified"]))
    load = results["conditions"]["load_average_at_end"]
    print("machine: %d cores, load average at end %.1f/%.1f/%.1f; run took %.0fs"
          % (os.cpu_count(), load[0], load[1], load[2], results["conditions"]["seconds"]))
    print("results: %s" % json_path)
    if not args.no_plot and (results["platform"] or results["ceiling"]):
        png = report.plot(json_path[:-5] + ".png", results["platform"], results["ceiling"],
                          install=not args.no_install)
        print("plot:    %s" % png if png else
              "plot:    skipped (matplotlib missing: .venv/bin/pip install matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
