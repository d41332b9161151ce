"""The Kubernetes manifests: the five Deployments (2 replicas, /health
readiness, /alive liveness, resources, secrets by reference only, non-root),
their Services, RabbitMQ and MongoDB through their operators, the Prometheus
scrape ConfigMap (checked with promtool), and a secret template that is never
applied. Core kinds are also validated against the Kubernetes OpenAPI schemas
when the kubernetes-validate package is installed."""
import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.ops.helpers import (BLIND_INDEX_KEYS, DATA_KEYS, TRANSIT_KEYS, K8S, OPS, PORTS, SERVICES, TOKEN_KEYS, load_yaml, load_yaml_documents,
                               require_tool)

KUBERNETES_VERSION = "1.30.0"


def kustomization():
    return load_yaml(os.path.join(K8S, "kustomization.yaml"))


def applied_documents():
    docs = []
    for resource in kustomization()["resources"]:
        docs += [(resource, doc) for doc in load_yaml_documents(os.path.join(K8S, resource))]
    return docs


def find(kind, name=None):
    found = [doc for _, doc in applied_documents()
             if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)]
    assert found, "no %s %s" % (kind, name or "")
    return found


def dns_name(service):
    return service.replace("_", "-")


def test_kustomization_lists_every_manifest_but_the_secret_template():
    resources = kustomization()["resources"]
    on_disk = {os.path.relpath(os.path.join(root, name), K8S)
               for root, _, names in os.walk(K8S) for name in names if name.endswith(".yaml")}
    assert set(resources) == on_disk - {"kustomization.yaml", "secret.example.yaml"}
    assert kustomization()["namespace"] == "five-party-linkage"
    assert kustomization()["images"][0]["name"] == "five-party-linkage"


def test_no_secret_is_applied_and_the_template_holds_placeholders_only():
    assert not [doc for _, doc in applied_documents() if doc["kind"] == "Secret"]
    templates = {doc["metadata"]["name"]: doc
                 for doc in load_yaml_documents(os.path.join(K8S, "secret.example.yaml"))}
    for doc in templates.values():
        assert doc["kind"] == "Secret"
        secrets = {key: value for key, value in doc["stringData"].items() if key != "username"}
        assert set(secrets.values()) == {"CHANGE-ME"}
    # per service: its broker user (named after it) and its database user's password
    expected = {"linkage-secrets"}
    for service in SERVICES:
        expected |= {"linkage-broker-%s" % dns_name(service),
                     "linkage-mongo-%s-password" % dns_name(service)}
        assert templates["linkage-broker-%s" % dns_name(service)]["stringData"]["username"] == service
    assert set(templates) == expected


@pytest.mark.parametrize("service", SERVICES)
def test_service_deployment(service):
    deployment = find("Deployment", dns_name(service))[0]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["five-party-linkage/service"] == service
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(PORTS[service])
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "five-party-linkage"
    assert container["args"] == [service]
    assert container["ports"] == [{"name": "http", "containerPort": PORTS[service]}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/alive", "port": "http"}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    assert container["securityContext"]["allowPrivilegeEscalation"] is False

    env = {item["name"]: item for item in container["env"]}
    assert env["HTTP_PORT"]["value"] == str(PORTS[service])
    assert env["LINKAGE_ENV"]["value"] == "production"
    # secrets only by reference
    # its own agency's token key only
    assert env["LINKAGE_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "linkage-secrets",
                                                                 "key": TOKEN_KEYS[service]}
    # its own personal-data keys, and the transit keys the five share
    for name, key in (("PERSONAL_DATA_KEYS", DATA_KEYS[service]),
                      ("BLIND_INDEX_KEY", BLIND_INDEX_KEYS[service]), ("TRANSIT_KEYS", TRANSIT_KEYS)):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "linkage-secrets", "key": key}
    # its own broker and database users (tests/ops/test_k8s_topology.py)
    assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "linkage-broker-%s" % dns_name(service), "key": "password"}
    assert env["MONGO_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "linkage-mongo-%s-connection" % dns_name(service), "key": "connectionString.standard"}
    # AMQP_URI is built from its user's secret; $(VAR) needs VAR defined before it
    names = [item["name"] for item in container["env"]]
    assert env["AMQP_URI"]["value"] == "pyamqp://$(RABBITMQ_USER):$(RABBITMQ_PASSWORD)@linkage-rabbitmq:5672/"
    assert names.index("RABBITMQ_USER") < names.index("AMQP_URI")
    assert names.index("RABBITMQ_PASSWORD") < names.index("AMQP_URI")
    for item in container["env"]:
        if re.search(r"SECRET|PASSWORD|KEYS?$", item["name"]):
            assert "value" not in item, item["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_reachable_and_kept_available(service):
    svc = find("Service", dns_name(service))[0]
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": dns_name(service)}
    assert svc["spec"]["ports"] == [{"name": "http", "port": PORTS[service], "targetPort": "http"}]
    pdb = find("PodDisruptionBudget", dns_name(service))[0]
    assert pdb["spec"]["minAvailable"] == 1


def test_rabbitmq_is_a_three_node_operator_cluster():
    (cluster,) = find("RabbitmqCluster")
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1"
    assert cluster["metadata"]["name"] == "linkage-rabbitmq"  # -> Service and -default-user Secret names
    assert cluster["spec"]["replicas"] == 3
    assert cluster["spec"]["image"].startswith("rabbitmq:3.")
    assert "pause_minority" in cluster["spec"]["rabbitmq"]["additionalConfig"]


def test_mongodb_is_a_three_member_operator_replica_set():
    (mongo,) = find("MongoDBCommunity")
    assert mongo["apiVersion"] == "mongodbcommunity.mongodb.com/v1"
    assert mongo["spec"]["members"] == 3 and mongo["spec"]["type"] == "ReplicaSet"
    # one user per service, readWrite on its own database only (test_k8s_topology.py)
    assert {(user["name"], role["name"], role["db"]) for user in mongo["spec"]["users"]
            for role in user["roles"]} == {(s, "readWrite", s) for s in SERVICES}


def prometheus_config():
    (configmap,) = find("ConfigMap", "linkage-prometheus")
    return yaml.safe_load(configmap["data"]["prometheus.yml"])


def test_prometheus_configmap_is_valid_for_promtool(tmp_path):
    promtool = require_tool("promtool")
    config = prometheus_config()
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    # same layout as in the pod: rules/ beside the config
    config["rule_files"] = ["rules/*.yml"]
    # Debian builds Prometheus without Kubernetes discovery; check that part
    # here and let promtool check the rest (relabelling, params, rules).
    for job in config["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs") == [
            {"role": "pod", "namespaces": {"names": ["five-party-linkage"]}}], job["job_name"]
        job["static_configs"] = [{"targets": ["placeholder:1"]}]
    (tmp_path / "rules").mkdir()
    shutil.copy(os.path.join(OPS, "prometheus", "alerts.yml"), tmp_path / "rules" / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_configmap_gives_the_labels_the_rules_use():
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    compose_jobs = {job["job_name"] for job in load_yaml(os.path.join(OPS, "prometheus", "prometheus.yml"))[
        "scrape_configs"]}
    assert set(jobs) == compose_jobs - {"linkage-health", "prometheus"}
    relabels = jobs["linkage"]["relabel_configs"]
    assert {"source_labels": ["__meta_kubernetes_pod_label_five_party_linkage_service"],
            "target_label": "service"} in relabels
    assert jobs["rabbitmq-queues"]["metrics_path"] == "/metrics/detailed"
    for job in ("rabbitmq", "rabbitmq-queues"):
        assert any(r.get("regex") == "linkage-rabbitmq" and r.get("action") == "keep"
                   for r in jobs[job]["relabel_configs"])


def test_core_manifests_match_the_kubernetes_schemas():
    validator = pytest.importorskip("kubernetes_validate",
                                    reason="kubernetes-validate is not installed (pip install kubernetes-validate)")
    checked = 0
    for resource, doc in applied_documents():
        if doc["apiVersion"] in ("rabbitmq.com/v1beta1", "mongodbcommunity.mongodb.com/v1"):
            continue  # custom resources: their schemas come with the operators
        if doc["apiVersion"] == "keda.sh/v1alpha1":
            continue  # checked against KEDA's CRD schemas in test_keda.py
        validator.validate(doc, KUBERNETES_VERSION, strict=True)
        checked += 1
    for doc in load_yaml_documents(os.path.join(K8S, "secret.example.yaml")):
        validator.validate(doc, KUBERNETES_VERSION, strict=True)
    assert checked >= 3 * len(SERVICES) + 2
