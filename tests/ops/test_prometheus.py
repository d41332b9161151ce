"""Prometheus scrape config, alert rules and their unit tests (checked with
Debian's promtool), the blackbox exporter config, and the Grafana dashboard
with its provisioning."""
import json
import os
import shutil
import subprocess

import pytest
import yaml

from tests.ops.helpers import (
    OPS, PORTS, RABBITMQ_METRICS, REPO, SERVICES, allowed_metric_name, grafana_to_promql,
    load_yaml, metric_names, require_tool)

PROMETHEUS_YML = os.path.join(OPS, "prometheus", "prometheus.yml")
ALERTS_YML = os.path.join(OPS, "prometheus", "alerts.yml")
ALERTS_TEST_YML = os.path.join(OPS, "prometheus", "alerts_test.yml")
DASHBOARD = os.path.join(OPS, "grafana", "dashboards", "five-party-linkage.json")
DATASOURCES = os.path.join(OPS, "grafana", "provisioning", "datasources", "prometheus.yml")
DASHBOARD_PROVIDERS = os.path.join(OPS, "grafana", "provisioning", "dashboards", "five-party-linkage.yml")


def run(argv, cwd=REPO):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def alert_rules():
    return [rule for group in load_yaml(ALERTS_YML)["groups"] for rule in group["rules"]
            if "alert" in rule]


def dashboard_targets():
    dashboard = json.load(open(DASHBOARD))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


# ------------------------------------------------------------- promtool
def test_promtool_accepts_the_scrape_config():
    promtool = require_tool("promtool")
    result = run([promtool, "check", "config", PROMETHEUS_YML])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid prometheus config file syntax" in result.stdout


def test_promtool_accepts_the_alert_rules():
    promtool = require_tool("promtool")
    result = run([promtool, "check", "rules", ALERTS_YML])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: %d rules found" % len(alert_rules()) in result.stdout


def test_alert_unit_tests_pass():
    promtool = require_tool("promtool")
    result = run([promtool, "test", "rules", ALERTS_TEST_YML])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    cases = {}
    for group in load_yaml(ALERTS_TEST_YML)["tests"]:
        for case in group.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(bool(case.get("exp_alerts")))
    for rule in alert_rules():
        outcomes = cases.get(rule["alert"], [])
        assert True in outcomes, "no unit test shows %s firing" % rule["alert"]
        assert False in outcomes, "no unit test shows %s staying quiet" % rule["alert"]


def _mutated_rules(tmp_path, alertname, make_expr):
    """A copy of alerts.yml and its tests with one alert's expression changed."""
    rules = load_yaml(ALERTS_YML)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alertname:
                rule["expr"] = make_expr(rule["expr"])
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    shutil.copy(ALERTS_TEST_YML, tmp_path / "alerts_test.yml")
    return str(tmp_path / "alerts_test.yml")


@pytest.mark.parametrize("alertname", [rule["alert"] for rule in alert_rules()])
def test_unit_tests_notice_an_alert_that_never_fires(tmp_path, alertname):
    promtool = require_tool("promtool")
    tests = _mutated_rules(tmp_path, alertname, lambda expr: "(%s) unless on () vector(1)" % expr.strip())
    result = run([promtool, "test", "rules", tests])
    assert result.returncode != 0
    assert "alertname: %s," % alertname in result.stdout + result.stderr


@pytest.mark.parametrize("alertname", [rule["alert"] for rule in alert_rules()])
def test_unit_tests_notice_an_alert_that_always_fires(tmp_path, alertname):
    promtool = require_tool("promtool")
    tests = _mutated_rules(tmp_path, alertname, lambda expr: "(%s) or vector(1)" % expr.strip())
    result = run([promtool, "test", "rules", tests])
    assert result.returncode != 0
    assert "alertname: %s," % alertname in result.stdout + result.stderr


# -------------------------------------------------------- what is alerted
def test_alert_rules_use_only_contract_metric_names():
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            assert allowed_metric_name(name), "%s uses %s, not in the contract" % (rule["alert"], name)
            if name.startswith("rabbitmq_"):
                assert name in RABBITMQ_METRICS, "%s: unknown RabbitMQ metric %s" % (rule["alert"], name)


def test_alerts_cover_what_the_five_parties_need():
    exprs = [rule["expr"] for rule in alert_rules()]

    def some_rule(predicate):
        return any(predicate(expr, metric_names(expr)) for expr in exprs)

    assert some_rule(lambda e, n: "neighborhood_committee_linkages_overdue" in n and "party" in e)
    assert some_rule(lambda e, n: "developer_events_dead_lettered_total" in n and "increase(" in e)
    assert some_rule(lambda e, n: "rabbitmq_detailed_queue_messages" in n and "dead_letters" in e)
    assert some_rule(lambda e, n: "community_police_outbox_backlog_events" in n)
    assert some_rule(lambda e, n: "property_company_outbox_oldest_pending_age_seconds" in n)
    assert some_rule(lambda e, n: "up" in n and 'job="linkage"' in e and "== 0" in e)
    assert some_rule(lambda e, n: "probe_success" in n)
    assert some_rule(lambda e, n: "rabbitmq_detailed_queue_messages_ready" in n and "> 100" in e)
    assert some_rule(lambda e, n: "rabbitmq_detailed_queue_messages_ready" in n and "deriv(" in e)
    assert some_rule(lambda e, n: "neighborhood_committee_cases_overdue_total" in n and "party" in e)
    assert some_rule(lambda e, n: "neighborhood_committee_cases_escalated_total" in n and "reason" in e)
    # every service is named in every rule that selects by metric-name regex
    for expr in exprs:
        if "__name__" in expr:
            for service in SERVICES:
                assert service in expr


def test_every_alert_has_a_severity_and_a_summary():
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]


# ---------------------------------------------------------- scrape config
def test_scrape_config_covers_every_service_and_the_broker():
    config = load_yaml(PROMETHEUS_YML)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert "alerts.yml" in config["rule_files"]

    linkage = {tuple(sc["targets"]): sc["labels"]["service"] for sc in jobs["linkage"]["static_configs"]}
    assert linkage == {("%s:%d" % (svc, port),): svc for svc, port in PORTS.items()}

    health = {tuple(sc["targets"]): sc["labels"]["service"] for sc in jobs["linkage-health"]["static_configs"]}
    assert health == {("http://%s:%d/health" % (svc, port),): svc for svc, port in PORTS.items()}
    assert jobs["linkage-health"]["metrics_path"] == "/probe"
    assert any(rc.get("replacement") == "blackbox:9115" and rc.get("target_label") == "__address__"
               for rc in jobs["linkage-health"]["relabel_configs"])

    assert jobs["rabbitmq"]["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    queues = jobs["rabbitmq-queues"]
    assert queues["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    assert queues["metrics_path"] == "/metrics/detailed"
    assert set(queues["params"]["family"]) == {"queue_coarse_metrics", "queue_consumer_count"}


def test_rabbitmq_exposes_prometheus_on_the_scraped_port():
    conf = open(os.path.join(OPS, "rabbitmq", "rabbitmq.conf")).read()
    assert "prometheus.tcp.port = 15692" in conf
    plugins = open(os.path.join(OPS, "rabbitmq", "enabled_plugins")).read()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins


def test_blackbox_exporter_accepts_its_config():
    exporter = require_tool("prometheus-blackbox-exporter")
    result = run([exporter, "--config.check", "--config.file", os.path.join(OPS, "blackbox", "blackbox.yml")])
    assert result.returncode == 0, result.stderr
    assert "Config file is ok" in result.stdout + result.stderr
    modules = load_yaml(os.path.join(OPS, "blackbox", "blackbox.yml"))["modules"]
    assert modules["http_2xx"]["http"]["valid_status_codes"] == [200]  # a 503 /health fails


# -------------------------------------------------------- the code agrees
def test_the_services_export_every_metric_of_the_contract():
    """The rules and panels are blank if the code names a metric otherwise."""
    metrics = pytest.importorskip("shared.metrics", reason="shared/metrics.py not written yet")
    from tests.ops.helpers import COMMITTEE_METRICS, PER_SERVICE_METRICS
    for service in SERVICES:
        families = {family.name: family.type for family in metrics.Metrics(service).registry.collect()}
        expected = dict(PER_SERVICE_METRICS)
        if service == "neighborhood_committee":
            expected.update(COMMITTEE_METRICS)
        for suffix, kind in expected.items():
            name = "%s_%s" % (service, suffix)
            if kind == "counter":
                name = name[: -len("_total")]  # prometheus_client names the family without _total
            assert families.get(name) == kind, "%s does not export %s (%s)" % (service, name, kind)


# ---------------------------------------------------------------- Grafana
def test_dashboard_is_valid_grafana_json():
    dashboard = json.load(open(DASHBOARD))
    assert dashboard["title"] == "Five-party linkage"
    assert dashboard["uid"] == "five-party-linkage"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    boxes = []
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        for other, (x, y, w, h) in boxes:
            overlap = (pos["x"] < x + w and x < pos["x"] + pos["w"]
                       and pos["y"] < y + h and y < pos["y"] + pos["h"])
            assert not overlap, "%r overlaps %r" % (panel["title"], other)
        boxes.append((panel["title"], (pos["x"], pos["y"], pos["w"], pos["h"])))
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]


def test_dashboard_queries_use_only_contract_metric_names():
    for panel, target in dashboard_targets():
        names = metric_names(grafana_to_promql(target["expr"]))
        assert names, "%s: no metric in %r" % (panel["title"], target["expr"])
        for name in names:
            assert allowed_metric_name(name), "%s uses %s, not in the contract" % (panel["title"], name)
            if name.startswith("rabbitmq_"):
                assert name in RABBITMQ_METRICS, "%s: unknown RabbitMQ metric %s" % (panel["title"], name)


def test_dashboard_queries_are_valid_promql(tmp_path):
    """promtool parses each query as a recording rule."""
    promtool = require_tool("promtool")
    rules = [{"record": "dashboard:query_%d" % i, "expr": grafana_to_promql(target["expr"])}
             for i, (_, target) in enumerate(dashboard_targets())]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_shows_what_the_issue_asks_for():
    queries = [(panel["title"], target["expr"]) for panel, target in dashboard_targets()]
    exprs = [expr for _, expr in queries]

    def shown(predicate):
        return any(predicate(expr) for expr in exprs)

    assert shown(lambda e: "rate(neighborhood_committee_registrations_total" in e and "* 60" in e)
    assert shown(lambda e: "neighborhood_committee_linkages_open" in e)
    assert shown(lambda e: "neighborhood_committee_linkages_closed_total" in e)
    assert shown(lambda e: "neighborhood_committee_linkages_overdue" in e and "by (party)" in e)
    for quantile in ("0.5", "0.9", "0.99"):
        assert shown(lambda e: e.startswith("histogram_quantile(%s," % quantile)
                     and "neighborhood_committee_dispatch_latency_seconds_bucket" in e)
    assert shown(lambda e: "_events_dead_lettered_total" in e)
    assert shown(lambda e: "_outbox_backlog_events" in e)
    assert shown(lambda e: "rabbitmq_detailed_queue_messages_ready" in e and "by (queue)" in e)
    assert shown(lambda e: "rabbitmq_detailed_queue_messages" in e and "dead_letters" in e)


def test_dashboard_has_a_cases_row():
    dashboard = json.load(open(DASHBOARD))
    assert "Cases (neighborhood committee)" in [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    exprs = [target["expr"] for _, target in dashboard_targets()]

    def shown(metric, *labels):
        return any(metric in expr and all(label in expr for label in labels) for expr in exprs)

    assert shown("neighborhood_committee_cases_filed_total", "by (category)")
    assert shown("neighborhood_committee_cases_open", "by (status)")
    assert shown("neighborhood_committee_cases_overdue_total", "by (party, limit)")
    assert shown("neighborhood_committee_cases_accepted_total", "by (party, on_time)")
    assert shown("neighborhood_committee_cases_resolved_total", "by (party, on_time)")
    assert shown("neighborhood_committee_cases_returned_total", "by (party)")
    assert shown("neighborhood_committee_cases_escalated_total", "by (reason)")
    assert shown("neighborhood_committee_cases_rated_total", "by (satisfaction)")


def test_grafana_provisioning_points_at_prometheus_and_the_dashboard():
    datasource = load_yaml(DATASOURCES)["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    for panel, target in dashboard_targets():
        assert target["datasource"]["uid"] == datasource["uid"], panel["title"]

    provider = load_yaml(DASHBOARD_PROVIDERS)["providers"][0]
    compose = load_yaml(os.path.join(REPO, "docker-compose.yml"))
    grafana_volumes = compose["services"]["grafana"]["volumes"]
    assert "./ops/grafana/dashboards:%s:ro" % provider["options"]["path"] in grafana_volumes
    assert "./ops/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana_volumes
