"""A real Prometheus (Debian's binary) scrapes the locally running services
and RabbitMQ with the project's scrape config and alert rules, and its HTTP
API shows every service target up and the series the rules and the dashboard
need.

The services come from the `running_services` fixture (tests/conftest.py:
service name -> base URL such as http://127.0.0.1:8001). RabbitMQ's
Prometheus endpoint is 127.0.0.1:15692 (the local stack's), or
RABBITMQ_PROMETHEUS_ADDRESS. The scrape config is ops/prometheus/prometheus.yml
with only its targets rewritten (compose host names -> local addresses) and a
1 s interval; the blackbox exporter (for /health) is Debian's too.
"""
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.ops.helpers import OPS, SERVICES, free_port, load_yaml, require_tool

pytestmark = pytest.mark.slow

PROMETHEUS_YML = os.path.join(OPS, "prometheus", "prometheus.yml")
ALERTS_YML = os.path.join(OPS, "prometheus", "alerts.yml")
RABBITMQ_PROMETHEUS = os.environ.get("RABBITMQ_PROMETHEUS_ADDRESS", "127.0.0.1:15692")


def _get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


def _wait(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail("timed out after %d s waiting for %s" % (seconds, what))
        time.sleep(0.5)


def _start(argv, log_path):
    log = open(log_path, "w")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    return process, log


def _stop(process, log):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # our own session only
            process.wait(timeout=10)
    log.close()


def live_scrape_config(services, blackbox_address, prometheus_address):
    """ops/prometheus/prometheus.yml aimed at this machine."""
    config = load_yaml(PROMETHEUS_YML)
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    config["rule_files"] = [ALERTS_YML]
    for job in config["scrape_configs"]:
        name = job["job_name"]
        if name == "linkage":
            job["static_configs"] = [
                {"targets": [urllib.parse.urlsplit(url).netloc], "labels": {"service": service}}
                for service, url in services.items()]
        elif name == "linkage-health":
            job["static_configs"] = [
                {"targets": [url.rstrip("/") + "/health"], "labels": {"service": service}}
                for service, url in services.items()]
            for relabel in job["relabel_configs"]:
                if relabel.get("target_label") == "__address__":
                    relabel["replacement"] = blackbox_address
        elif name in ("rabbitmq", "rabbitmq-queues"):
            job["static_configs"] = [{"targets": [RABBITMQ_PROMETHEUS]}]
        elif name == "prometheus":
            job["static_configs"] = [{"targets": [prometheus_address]}]
        else:
            pytest.fail("unknown scrape job %s: teach this test where it points" % name)
    return config


@pytest.fixture(scope="module")
def prometheus(running_services, tmp_path_factory):
    prometheus_bin = require_tool("prometheus")
    blackbox_bin = require_tool("prometheus-blackbox-exporter")
    assert set(running_services) == set(SERVICES)
    work = tmp_path_factory.mktemp("prometheus")
    blackbox_address = "127.0.0.1:%d" % free_port()
    prometheus_address = "127.0.0.1:%d" % free_port()
    config = live_scrape_config(running_services, blackbox_address, prometheus_address)
    (work / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    blackbox = _start([blackbox_bin, "--config.file", os.path.join(OPS, "blackbox", "blackbox.yml"),
                       "--web.listen-address", blackbox_address], work / "blackbox.log")
    server = _start([prometheus_bin, "--config.file", str(work / "prometheus.yml"),
                     "--storage.tsdb.path", str(work / "data"),
                     "--web.listen-address", prometheus_address, "--log.level", "warn"],
                    work / "prometheus.log")
    base = "http://" + prometheus_address
    try:
        _wait(lambda: urllib.request.urlopen(base + "/-/ready", timeout=2).status == 200, 60,
              "Prometheus to be ready (log: %s)" % (work / "prometheus.log"))
        yield base
    finally:
        _stop(*server)
        _stop(*blackbox)


def query(base, promql):
    answer = _get_json(base + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_every_target_is_up(prometheus):
    def all_up():
        targets = _get_json(prometheus + "/api/v1/targets")["data"]["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None

    targets = _wait(all_up, 60, "every scrape target to be up")
    by_job = {}
    for target in targets:
        by_job.setdefault(target["labels"]["job"], set()).add(target["labels"].get("service"))
    assert by_job["linkage"] == set(SERVICES)
    assert by_job["linkage-health"] == set(SERVICES)
    assert "rabbitmq" in by_job and "rabbitmq-queues" in by_job


def test_services_are_up_and_healthy_in_prometheus(prometheus):
    def all_five(promql):
        result = query(prometheus, promql)
        return result if len(result) == len(SERVICES) else None

    up = _wait(lambda: all_five('up{job="linkage"} == 1'), 30, "up == 1 for the five services")
    assert {r["metric"]["service"] for r in up} == set(SERVICES)
    healthy = _wait(lambda: all_five('probe_success{job="linkage-health"} == 1'), 30,
                    "/health to answer 200 for the five services")
    assert {r["metric"]["service"] for r in healthy} == set(SERVICES)


def test_key_series_exist(prometheus):
    _wait(lambda: query(prometheus, "neighborhood_committee_outbox_backlog_events"), 30,
          "the committee's outbox backlog series")
    for service in SERVICES:
        for metric in ("outbox_backlog_events", "outbox_oldest_pending_age_seconds"):
            result = query(prometheus, "%s_%s" % (service, metric))
            assert result, "no %s_%s" % (service, metric)
            assert result[0]["metric"]["service"] == service
    parties = {r["metric"]["party"] for r in query(prometheus, "neighborhood_committee_linkages_overdue")}
    assert parties == set(SERVICES) - {"neighborhood_committee"}
    assert query(prometheus, "neighborhood_committee_linkages_open")
    # RabbitMQ: per-queue depths (from /metrics/detailed) and node alarms
    dead_letter_queues = _wait(
        lambda: {r["metric"]["queue"] for r in query(
            prometheus, 'rabbitmq_detailed_queue_messages{queue=~".+\\\\.dead_letters"}')}
        >= {"%s.dead_letters" % s for s in SERVICES}, 30, "the dead-letter queues' depth series")
    assert dead_letter_queues
    assert query(prometheus, "rabbitmq_detailed_queue_messages_ready")
    assert query(prometheus, "rabbitmq_detailed_queue_consumers")
    assert query(prometheus, "rabbitmq_alarms_memory_used_watermark")


def test_alert_rules_evaluate_on_the_real_series(prometheus):
    def evaluated():
        groups = _get_json(prometheus + "/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules) \
            else None

    rules = _wait(evaluated, 30, "every alert rule to be evaluated")
    expected = {r["alert"] for g in load_yaml(ALERTS_YML)["groups"] for r in g["rules"]}
    assert {rule["name"] for rule in rules} == expected
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    # nothing says a running, healthy service is down: those alerts'
    # expressions select nothing (alerts themselves may still be pending
    # from evaluations before the first scrape)
    exprs = {r["alert"]: r["expr"] for g in load_yaml(ALERTS_YML)["groups"] for r in g["rules"]}
    for name in ("LinkageServiceUnavailable", "LinkageInstanceDown", "LinkageServiceUnhealthy",
                 "RabbitMQDown"):
        assert query(prometheus, exprs[name]) == [], name
    firing = [a for a in _get_json(prometheus + "/api/v1/alerts")["data"]["alerts"]
              if a["state"] == "firing" and a["labels"]["alertname"] in exprs]
    assert not [a for a in firing if a["labels"]["alertname"] in (
        "LinkageServiceUnavailable", "LinkageInstanceDown", "LinkageServiceUnhealthy", "RabbitMQDown")]
