"""What the operations tests share: paths, the service contract, the tools
they need (installed by scripts/install-ops-tools.sh, never by a test), and a
small PromQL reader that lists the metric names a query uses."""
import functools
import os
import re
import shutil
import socket
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OPS = os.path.join(REPO, "ops")
K8S = os.path.join(REPO, "k8s")

# The contract with the code: service name -> HTTP port.
PORTS = {
    "neighborhood_committee": 8001,
    "community_police": 8002,
    "floating_population_office": 8003,
    "property_company": 8004,
    "developer": 8005,
}
SERVICES = tuple(PORTS)

# Each agency's own token key, in .env (compose) and in the linkage-secrets secret (k8s).
TOKEN_KEYS = {
    "neighborhood_committee": "COMMITTEE_TOKEN_KEY",
    "community_police": "POLICE_TOKEN_KEY",
    "floating_population_office": "FLOATING_TOKEN_KEY",
    "property_company": "PROPERTY_TOKEN_KEY",
    "developer": "DEVELOPER_TOKEN_KEY",
}
COMMITTEE = "neighborhood_committee"

# In .env (compose): each service's own broker and database passwords; its
# users are named after the service.
_PREFIXES = {service: key.split("_")[0] for service, key in TOKEN_KEYS.items()}
BROKER_PASSWORDS = {service: "%s_BROKER_PASSWORD" % prefix for service, prefix in _PREFIXES.items()}
DB_PASSWORDS = {service: "%s_DB_PASSWORD" % prefix for service, prefix in _PREFIXES.items()}
# Each service's own personal-data and blind-index keys, and the transit keys the five share.
DATA_KEYS = {service: "%s_DATA_KEYS" % prefix for service, prefix in _PREFIXES.items()}
BLIND_INDEX_KEYS = {service: "%s_BLIND_INDEX_KEY" % prefix for service, prefix in _PREFIXES.items()}
TRANSIT_KEYS = "TRANSIT_KEYS"

# Metric names of the contract, as `<service>_<suffix>`; histograms are
# listed by their base name and expand to _bucket, _sum and _count.
PER_SERVICE_METRICS = {
    "events_published_total": "counter",
    "events_consumed_total": "counter",
    "events_failed_total": "counter",
    "events_dead_lettered_total": "counter",
    "event_handler_duration_seconds": "histogram",
    "http_request_duration_seconds": "histogram",
    "outbox_backlog_events": "gauge",
    "outbox_oldest_pending_age_seconds": "gauge",
    "cases_reported_total": "counter",
    "case_overdue_notices_total": "counter",
}
COMMITTEE_METRICS = {
    "registrations_total": "counter",
    "linkages_open": "gauge",
    "linkages_overdue": "gauge",
    "party_overdue_total": "counter",
    "linkages_closed_total": "counter",
    "dispatch_latency_seconds": "histogram",
    "traces_total": "counter",
    "trace_parties_unreachable_total": "counter",
    # community cases
    "cases_filed_total": "counter",
    "cases_dispatched_total": "counter",
    "cases_accepted_total": "counter",
    "cases_resolved_total": "counter",
    "cases_returned_total": "counter",
    "cases_overdue_total": "counter",
    "cases_closed_total": "counter",
    "cases_reopened_total": "counter",
    "cases_rated_total": "counter",
    "cases_escalated_total": "counter",
    "cases_open": "gauge",
}
# RabbitMQ series the rules and the dashboard use, as rabbitmq_prometheus
# names them (seen on RabbitMQ 3.10's /metrics and /metrics/detailed; the
# live test finds them on the local broker). Guards against typos.
RABBITMQ_METRICS = {
    "rabbitmq_detailed_queue_messages",
    "rabbitmq_detailed_queue_messages_ready",
    "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_consumers",
    "rabbitmq_alarms_memory_used_watermark",
    "rabbitmq_alarms_free_disk_space_watermark",
    "rabbitmq_alarms_file_descriptor_limit",
}
# Series that Prometheus makes itself (up) or the blackbox exporter exports.
NON_SERVICE_METRICS = {"up", "probe_success"}


def _expand(name, kind):
    if kind == "histogram":
        return {name + "_bucket", name + "_sum", name + "_count"}
    return {name}


def contract_metric_names():
    names = set()
    for service in SERVICES:
        for suffix, kind in PER_SERVICE_METRICS.items():
            names |= _expand("%s_%s" % (service, suffix), kind)
    for suffix, kind in COMMITTEE_METRICS.items():
        names |= _expand("%s_%s" % (COMMITTEE, suffix), kind)
    return names


def allowed_metric_name(name):
    return (name in contract_metric_names() or name in NON_SERVICE_METRICS
            or name.startswith("rabbitmq_"))


def linkage_command():
    """The installed console script if there is one, else the module."""
    for candidate in (os.path.join(REPO, ".venv", "bin", "linkage"), shutil.which("linkage")):
        if candidate and os.access(candidate, os.X_OK):
            return [candidate]
    return [sys.executable, "-m", "shared.cli"]


def require_tool(name):
    """Path of a command-line tool; skip the test when it is not installed.
    `make test` runs scripts/install-ops-tools.sh first, so in CI it is."""
    path = shutil.which(name)
    if path is None:
        pytest.skip("%s is not installed; run scripts/install-ops-tools.sh" % name)
    return path


def load_yaml(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def load_yaml_documents(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


# ------------------------------------------------------------------ CRDs
CRDS = os.path.join(os.path.dirname(__file__), "crds")


def crd_schema_errors(doc, directory):
    """What the API server would say of a custom resource, checked against
    the CRDs vendored in tests/ops/crds/<directory>: schema violations, and
    fields its schema does not name (the server drops those silently)."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = _crd_schema(doc, os.path.join(CRDS, directory))
    errors = ["%s: %s" % ("/".join(str(p) for p in error.absolute_path), error.message)
              for error in jsonschema.Draft4Validator(schema).iter_errors(doc)]
    return errors + ["unknown field %s" % field for field in _unknown_fields(doc, schema)]


def _crd_schema(doc, directory):
    group, version = doc["apiVersion"].split("/")
    for crd in _crds(directory):
        if crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == doc["kind"]:
            (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
            return served["schema"]["openAPIV3Schema"]
    raise AssertionError("no vendored CRD for %s %s in %s" % (doc["apiVersion"], doc["kind"], directory))


@functools.lru_cache(maxsize=None)
def _crds(directory):
    return tuple(load_yaml(os.path.join(directory, name)) for name in sorted(os.listdir(directory)))


def _unknown_fields(value, schema, path=""):
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if path == "" and key == "metadata":
                continue  # ObjectMeta: checked by the API server itself, not the CRD
            if key in properties:
                found += _unknown_fields(item, properties[key], "%s.%s" % (path, key))
            elif isinstance(extra, dict):
                found += _unknown_fields(item, extra, "%s.%s" % (path, key))
            else:
                found.append("%s.%s" % (path, key))
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += _unknown_fields(item, schema["items"], "%s[%d]" % (path, index))
    return found


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ PromQL
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "offset", "bool", "inf", "nan", "atan2"}
_NAME_REGEX = re.compile(r'__name__\s*=~\s*"((?:[^"\\]|\\.)*)"')
_ALTERNATION = re.compile(r"^\(([A-Za-z0-9_|]+)\)_([A-Za-z0-9_]+)$")


class PromQLNameError(ValueError):
    pass


def expand_name_regex(pattern):
    """The metric names a {__name__=~"..."} selector means. Only an
    alternation of whole prefixes is accepted, e.g.
    "(neighborhood_committee|developer)_outbox_backlog_events", so that the
    set of names is finite and checkable."""
    match = _ALTERNATION.match(pattern)
    if match:
        return {"%s_%s" % (prefix, match.group(2)) for prefix in match.group(1).split("|")}
    if re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", pattern):
        return {pattern}
    raise PromQLNameError("__name__ regex %r is not of the form (a|b|c)_suffix" % pattern)


def grafana_to_promql(expr):
    """Replace Grafana's macros and variables by values PromQL accepts."""
    expr = re.sub(r"\$__rate_interval|\$__interval|\$__range", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", "x", expr)


def metric_names(expr):
    """Every metric name a PromQL expression selects."""
    names = set()
    for pattern in _NAME_REGEX.findall(expr):
        names |= expand_name_regex(pattern.replace("\\\\", "\\"))
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)            # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)                      # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)                     # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?(ms|s|m|h|d|w|y)?\b", " ", text)
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end():].lstrip()
        if word.lower() in _KEYWORDS or following.startswith("("):
            continue  # a keyword, or a function / aggregation
        names.add(word)
    return names
