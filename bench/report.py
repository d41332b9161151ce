"""The terminal table, the JSON file and the latency-versus-rate plot."""
import importlib
import json
import os
import subprocess
import sys

from bench.stats import rounded


def ms(value):
    return "-" if value is None else ("%.0f" % (value * 1000) if value < 10 else "%.1fs" % value)


def seconds(value):
    return "-" if value is None else ("%.0f ms" % (value * 1000) if value < 10 else "%.1f s" % value)


def rate(value):
    return "-" if value is None else "%.1f" % value


def platform_table(steps):
    head = ("offered/s", "accepted/s", "dispatched/s", "drained", "dispatch p50/p95/p99/max ms",
            "close p50/p99/max ms", "POST p99 ms", "late p99 ms", "msgs/s", "lost", "dup",
            "errors", "CPU ms/reg (services | broker | db)")
    rows = []
    for step in steps:
        if step.get("skipped"):
            rows.append((rate(step["offered_per_second"]), "skipped: " + step["skipped"]) +
                        ("",) * (len(head) - 2))
            continue
        d, c = step["dispatch_latency"], step["close_latency"]
        ledger = step["ledger"]
        lost = sum(v.get("lost", 0) for v in ledger.values())
        dup = sum(v.get("duplicated", 0) + v.get("duplicate_applied_events", 0) for v in ledger.values())
        errors = sum(step["errors"]["registration"].values()) + sum(step["errors"]["decision"].values()) \
            + sum(step["errors"]["events_dead_lettered"].values())
        per = step["cpu"]["per_registration"]
        services = sum(v for k, v in per.items()
                       if k not in ("rabbitmq", "ferretdb", "postgres", "bench"))
        rows.append((
            rate(step["offered_per_second"]), rate(step["accepted_per_second"]),
            rate(step["dispatched_per_second"]), "yes" if step["drained"] else "NO",
            "/".join(ms(d[k]) for k in ("p50", "p95", "p99", "max")),
            "/".join(ms(c[k]) for k in ("p50", "p99", "max")),
            ms(step["registration_http"]["p99"]), ms(step["send_lateness"]["p99"]),
            rate(step["messages"]["broker_per_second"]),
            str(lost) if step.get("caught_up", True) else "%d late" % lost, str(dup), str(errors),
            "%.1f | %.1f | %.1f" % (services * 1000, per.get("rabbitmq", 0) * 1000,
                                    (per.get("ferretdb", 0) + per.get("postgres", 0)) * 1000)))
    return _format(head, rows)


def ceiling_table(steps):
    head = ("offered/s", "produced/s", "dispatched/s", "drained", "dispatch p50/p95/p99/max ms",
            "late p99 ms", "lost", "CPU ms/reg (procs | broker | db)")
    rows = []
    for step in steps:
        d = step["dispatch_latency"]
        per = step["cpu"]["per_registration"]
        procs = sum(v for k, v in per.items() if k not in ("rabbitmq", "ferretdb", "postgres"))
        rows.append((rate(step["offered_per_second"]), rate(step["produced_per_second"]),
                     rate(step["dispatched_per_second"]), "yes" if step["drained"] else "NO",
                     "/".join(ms(d[k]) for k in ("p50", "p95", "p99", "max")),
                     ms(step["send_lateness"]["p99"]),
                     str(sum(v["lost"] for v in step["ledger"].values())),
                     "%.1f | %.1f | %.1f" % (procs * 1000, per.get("rabbitmq", 0) * 1000,
                                             (per.get("ferretdb", 0) + per.get("postgres", 0)) * 1000)))
    return _format(head, rows)


def cpu_table(steps):
    """CPU ms per registration (registration phase) and per decision, by process."""
    names = []
    for step in steps:
        if not step.get("skipped"):
            for name in list(step["cpu"]["per_registration"]) + list(step["cpu"]["per_decision"]):
                if name not in names:
                    names.append(name)
    head = ("offered/s",) + tuple(names) + ("machine busy %", "others' CPU s")
    rows = []
    for step in steps:
        if step.get("skipped"):
            continue
        phase = step["cpu"]["registration_phase"]
        busy = 100.0 * phase["machine_busy_seconds"] / max(phase["machine_capacity_seconds"], 1e-9)
        rows.append((rate(step["offered_per_second"]),) + tuple(
            "%.1f/%.1f" % (step["cpu"]["per_registration"].get(n, 0) * 1000,
                           step["cpu"]["per_decision"].get(n, 0) * 1000) for n in names)
            + ("%.0f" % busy, "%.1f" % phase["other_processes_seconds"]))
    return _format(head, rows)


def _format(head, rows):
    widths = [max(len(str(r[i])) for r in (head,) + tuple(rows)) for i in range(len(head))]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, head))
    out = [line, "-" * len(line)]
    out += ["  ".join("%-*s" % (w, c) for w, c in zip(widths, row)) for row in rows]
    return "\n".join(out)


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(rounded(data), handle, indent=2, default=str)


def _matplotlib(install):
    try:
        return importlib.import_module("matplotlib")
    except ImportError:
        if not install:
            return None
    print("matplotlib is not installed; installing it into this venv for the plot "
          "(python -m pip install matplotlib; skip with --no-plot)")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"])
    if result.returncode != 0:
        return None
    importlib.invalidate_caches()
    return importlib.import_module("matplotlib")


def plot(path, platform_steps, ceiling_steps, install=True):
    """Dispatch latency (p50, p99) against offered rate, platform and ceiling."""
    matplotlib = _matplotlib(install)
    if matplotlib is None:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for steps, label, style in ((platform_steps, "platform", "o-"), (ceiling_steps, "bare kombu", "s--")):
        steps = [s for s in steps if not s.get("skipped") and s["dispatch_latency"]["count"]]
        if not steps:
            continue
        x = [s["offered_per_second"] for s in steps]
        for q in ("p50", "p99"):
            left.plot(x, [s["dispatch_latency"][q] for s in steps], style,
                      label="%s %s" % (label, q), alpha=1.0 if q == "p99" else 0.6)
        right.plot(x, [s["dispatched_per_second"] for s in steps], style, label=label)
    left.axhline(1.0, color="grey", linestyle=":", label="goal: p99 < 1 s")
    left.set_xlabel("offered registrations/s")
    left.set_ylabel("dispatch latency, s (log)")
    left.set_yscale("log")
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    top = max([s["offered_per_second"] for s in platform_steps + ceiling_steps] + [1])
    right.plot([0, top], [0, top], color="grey", linestyle=":", label="achieved = offered")
    right.axhline(200, color="grey", linestyle="--", alpha=0.5, label="goal: 200/s")
    right.set_xlabel("offered registrations/s")
    right.set_ylabel("dispatched registrations/s")
    right.legend(fontsize=8)
    right.grid(True, alpha=0.3)
    fig.suptitle("Returnee linkage: dispatch latency and throughput against offered rate")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
