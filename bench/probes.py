"""What the benchmark reads besides its own clock: CPU time of processes
(/proc), the machine's CPU, the broker's message counters (management API)
and the services' Prometheus counters."""
import glob
import os
import re
import time

import requests

TICKS = os.sysconf("SC_CLK_TCK")
RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672").rstrip("/")


# ------------------------------------------------------------------ CPU
def cpu_seconds(pid):
    """User + system CPU seconds of a process (and its reaped children); None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is the state (field 3); utime, stime, cutime, cstime are fields 14-17.
    return sum(int(value) for value in fields[11:15]) / TICKS


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / TICKS, total / TICKS


def load_average():
    return os.getloadavg()


def uri_port(uri, default):
    """The port of the first host in a URI (amqp://, mongodb://, http://)."""
    netloc = uri.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1].split(",")[0]
    return int(netloc.rsplit(":", 1)[1]) if ":" in netloc else default


def pid_listening_on(port):
    """The pid of the process listening on a local TCP port, or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add("socket:[%s]" % inode)
        except OSError:
            continue
    if not inodes:
        return None
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in inodes:
                return int(fd.split("/")[2])
        except OSError:
            continue
    return None


def pids_named(name):
    """Pids of the processes whose command name is `name` (e.g. PostgreSQL's
    backends, when the database under FerretDB is PostgreSQL)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/comm" % entry) as handle:
                    if handle.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU seconds of named processes (a pid, or a list of pids summed) and of
    the machine, at named moments."""

    def __init__(self, pids):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.marks = {}

    @staticmethod
    def _seconds(pid):
        if isinstance(pid, (list, tuple)):
            values = [cpu_seconds(p) for p in pid]
            return sum(v for v in values if v is not None)
        return cpu_seconds(pid)

    def mark(self, label):
        busy, total = machine_cpu()
        self.marks[label] = {"wall": time.time(), "machine_busy": busy, "machine_total": total,
                             "procs": {name: self._seconds(pid) for name, pid in self.pids.items()},
                             "load": load_average()}
        return self.marks[label]

    def between(self, start, end):
        a, b = self.marks[start], self.marks[end]
        wall = b["wall"] - a["wall"]
        procs = {name: round(b["procs"][name] - a["procs"][name], 3)
                 for name in self.pids if a["procs"].get(name) is not None
                 and b["procs"].get(name) is not None}
        busy = b["machine_busy"] - a["machine_busy"]
        return {"wall_seconds": round(wall, 3), "cpu_seconds": procs,
                "machine_busy_seconds": round(busy, 3),
                "machine_capacity_seconds": round(b["machine_total"] - a["machine_total"], 3),
                "other_processes_seconds": round(busy - sum(procs.values()), 3),
                "load_average_end": b["load"]}


# ------------------------------------------------------------------ RabbitMQ
def vhost_message_stats(vhost):
    """Cumulative message counters of a vhost (the management API refreshes
    them every few seconds)."""
    response = requests.get("%s/api/vhosts/%s" % (RABBIT_API, requests.utils.quote(vhost, safe="")),
                            timeout=10)
    response.raise_for_status()
    stats = response.json().get("message_stats") or {}
    return {key: stats.get(key, 0) for key in
            ("publish", "confirm", "deliver_get", "ack", "redeliver", "return_unroutable")}


def vhost_queue_depth(vhost):
    """Messages ready + unacknowledged in every queue of the vhost."""
    response = requests.get("%s/api/queues/%s?columns=name,messages"
                            % (RABBIT_API, requests.utils.quote(vhost, safe="")), timeout=10)
    response.raise_for_status()
    return {queue["name"]: queue.get("messages") or 0 for queue in response.json()}


def create_vhost(vhost):
    session = requests.Session()
    session.put("%s/api/vhosts/%s" % (RABBIT_API, vhost), timeout=10).raise_for_status()
    session.put("%s/api/permissions/%s/guest" % (RABBIT_API, vhost),
                json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()


def delete_vhost(vhost):
    requests.delete("%s/api/vhosts/%s" % (RABBIT_API, vhost), timeout=10)


def broker_version():
    try:
        return requests.get(RABBIT_API + "/api/overview", timeout=5).json().get("rabbitmq_version")
    except Exception:
        return None


# ------------------------------------------------------------------ Prometheus
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([^\s]+)')


def scrape(url, patience=120.0):
    """{(metric name, labels string): value} from a /metrics page. An
    overloaded service answers late (the endpoint waits for a free worker like
    any request), so this keeps asking for up to `patience` seconds."""
    deadline = time.time() + patience
    while True:
        try:
            text = requests.get(url + "/metrics", timeout=30).text
            break
        except requests.RequestException:
            if time.time() > deadline:
                raise
            time.sleep(1)
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            samples[(match.group(1), match.group(2) or "")] = float(match.group(3))
    return samples


def metric_sum(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    wanted = ['%s="%s"' % item for item in labels.items()]
    for (metric, label_text), value in samples.items():
        if metric == name and all(w in label_text for w in wanted):
            total += value
    return total


def histogram_quantile(samples, name, quantile):
    """A quantile estimated from a cumulative histogram the Prometheus way
    (linear inside the bucket); `samples` may be a difference of two scrapes."""
    buckets = sorted((float(re.search(r'le="([^"]+)"', labels).group(1)), value)
                     for (metric, labels), value in samples.items()
                     if metric == name + "_bucket")
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / span if span else 1)
        lower_bound, lower_count = bound, count
    return lower_bound


def subtract(after, before):
    return {key: value - before.get(key, 0.0) for key, value in after.items()}
