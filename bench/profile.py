"""Where a service's CPU goes: py-spy samples of the running processes,
summarised by library (the innermost frame's) and by function (inclusive).

py-spy is installed into the venv on demand (it is a benchmark tool, not a
dependency of the project). Samples are on-CPU only: a green thread waiting
on the database or the broker is idle, so what is missing from a service's
profile is time spent waiting, which the CPU table shows for the database
and the broker themselves.
"""
import os
import re
import shutil
import subprocess
import sys
from collections import Counter

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")
LIBRARIES = [
    ("pymongo", "pymongo/bson (database client)"), ("bson", "pymongo/bson (database client)"),
    ("kombu", "kombu/amqp (broker client)"), ("amqp", "kombu/amqp (broker client)"),
    ("marshmallow", "marshmallow (schemas)"), ("eventlet", "eventlet (hub, green I/O)"),
    ("greenlet", "eventlet (hub, green I/O)"), ("nameko", "nameko (entrypoints, workers)"),
    ("werkzeug", "werkzeug (HTTP)"), ("prometheus_client", "prometheus_client (metrics)"),
    ("logging", "logging (JSON log lines)"), ("shared/logs", "logging (JSON log lines)"),
    ("json", "json"), ("uuid", "uuid"), ("shared/", "platform (shared/)"),
    ("services/", "services/"), ("dns", "dnspython"), ("ssl", "ssl/socket"),
    ("socket", "ssl/socket"), ("threading", "threading"),
]


def py_spy():
    exe = os.path.join(os.path.dirname(sys.executable), "py-spy")
    if os.path.exists(exe):
        return exe
    if shutil.which("py-spy"):
        return shutil.which("py-spy")
    print("py-spy is not installed; installing it into this venv (python -m pip install py-spy)")
    if subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"]).returncode != 0:
        return None
    return exe if os.path.exists(exe) else None


def start(pids, duration, directory, rate=100):
    """Start sampling each pid for `duration` seconds; {name: (process, output path)}."""
    exe = py_spy()
    if exe is None:
        return {}
    os.makedirs(directory, exist_ok=True)
    running = {}
    for name, pid in pids.items():
        output = os.path.join(directory, "%s.txt" % name)
        process = subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(duration)),
                                    "--rate", str(rate), "--format", "raw", "--nonblocking",
                                    "--output", output],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        running[name] = (process, output)
    return running


def finish(running, timeout=60):
    results = {}
    for name, (process, output) in running.items():
        try:
            _, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            _, err = process.communicate()
        if os.path.exists(output):
            results[name] = summarise(output)
        else:
            results[name] = {"error": (err or "no output").strip()[-500:]}
    return results


def _library(frame):
    match = FRAME.match(frame)
    path = match.group("file") if match else frame
    for needle, label in LIBRARIES:
        if needle in path:
            return label
    return "other (%s)" % os.path.basename(path) if path else "other"


def _function(frame):
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return "%s (%s)" % (match.group("func"), path)


def summarise(path, top=12):
    """Samples, share by library of the innermost frame, top functions inclusive."""
    total = idle = 0
    by_library, inclusive, leaf = Counter(), Counter(), Counter()
    with open(path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            count = int(count)
            frames = [f for f in stack.split(";") if f]
            # py-spy's raw format puts the thread name first when it can; drop non-frames
            frames = [f for f in frames if FRAME.match(f)]
            if not frames:
                continue
            if "eventlet/hubs/" in frames[-1]:
                # The hub waiting in epoll: py-spy cannot tell that green idleness
                # from work, so it is counted apart.
                idle += count
                continue
            total += count
            by_library[_library(frames[-1])] += count
            leaf[_function(frames[-1])] += count
            for function in {_function(f) for f in frames}:
                inclusive[function] += count
    share = lambda counter: [(name, round(100.0 * n / max(total, 1), 1))
                             for name, n in counter.most_common(top)]
    return {"samples": total, "idle_samples": idle, "by_library": share(by_library),
            "top_inclusive": share(inclusive), "top_self": share(leaf), "raw": path}


def text(results):
    lines = []
    for name, result in results.items():
        if "error" in result:
            lines.append("%s: profile failed: %s" % (name, result["error"]))
            continue
        lines.append("%s: %d busy samples, %d idle in the eventlet hub (py-spy, 100 Hz)"
                     % (name, result["samples"], result.get("idle_samples", 0)))
        lines.append("  by library (innermost frame): " + ", ".join(
            "%s %.0f%%" % item for item in result["by_library"][:8]))
        lines.append("  top functions (inclusive):")
        lines += ["    %5.1f%%  %s" % (pct, fn) for fn, pct in result["top_inclusive"][:10]]
    return "\n".join(lines)
