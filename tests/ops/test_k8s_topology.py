"""Least privilege in Kubernetes: k8s/rabbitmq/topology.yaml is exactly what
`linkage topology --kubernetes` prints (the definitions compose imports, as
the messaging topology operator's custom resources); each service has its
own broker user, imported from its own secret, with the definitions'
permissions, and its own MongoDB user with readWrite on its own database
only; each Deployment is given those and no other service's. The custom
resources are checked offline against the operators' CRD schemas
(tests/ops/crds/)."""
import json
import os
import re
import subprocess

import pytest

from shared.kubernetes import broker_secret, resource_name
from tests.ops.helpers import (K8S, OPS, REPO, SERVICES, crd_schema_errors, linkage_command, load_yaml,
                               load_yaml_documents)

TOPOLOGY = os.path.join(K8S, "rabbitmq", "topology.yaml")
TOPOLOGY_CRDS = "messaging-topology-operator-1.20.1"
MONGODB_CRDS = "mongodb-kubernetes-operator-0.13.0"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def topology_resources():
    return load_yaml_documents(TOPOLOGY)


def of_kind(kind):
    return [doc for doc in topology_resources() if doc["kind"] == kind]


def definitions():
    with open(os.path.join(OPS, "rabbitmq", "definitions.json")) as handle:
        return json.load(handle)


def deployment_env(service):
    (deployment,) = [doc for doc in load_yaml_documents(os.path.join(K8S, "services", "%s.yaml"
                                                                     % resource_name(service)))
                     if doc["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item for item in container["env"]}


def mongodb():
    return load_yaml(os.path.join(K8S, "mongodb", "mongodbcommunity.yaml"))


def test_committed_resources_match_linkage_topology():
    env = {key: value for key, value in os.environ.items() if key not in ("RETRY_DELAYS_MS", "AMQP_URI")}
    result = subprocess.run(linkage_command() + ["topology", "--kubernetes"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with open(TOPOLOGY) as handle:
        assert result.stdout == handle.read(), (
            "k8s/rabbitmq/topology.yaml is stale: run "
            "`linkage topology --kubernetes > k8s/rabbitmq/topology.yaml`")


def test_the_resources_are_the_definitions_compose_imports():
    expected = definitions()
    assert {e["spec"]["name"] for e in of_kind("Exchange")} == {e["name"] for e in expected["exchanges"]}
    queues = {q["spec"]["name"]: q["spec"] for q in of_kind("Queue")}
    for queue in expected["queues"]:
        spec = queues.pop(queue["name"])
        assert dict(spec["arguments"], **{"x-queue-type": spec["type"]}) == queue["arguments"]
        assert spec["durable"] is True and spec["autoDelete"] is False
        assert spec["deletionPolicy"] == "retain"  # events may be waiting in it
    assert not queues
    assert sorted((b["spec"]["source"], b["spec"]["destination"], b["spec"]["routingKey"])
                  for b in of_kind("Binding")) == sorted(
        (b["source"], b["destination"], b["routing_key"]) for b in expected["bindings"])


def test_every_resource_has_a_name_kubernetes_accepts_once_and_belongs_to_the_cluster():
    (cluster,) = [doc for doc in load_yaml_documents(os.path.join(K8S, "rabbitmq", "rabbitmqcluster.yaml"))]
    seen = set()
    for doc in topology_resources():
        name = doc["metadata"]["name"]
        assert DNS_SUBDOMAIN.match(name) and len(name) <= 253, name
        assert (doc["kind"], name) not in seen, name
        seen.add((doc["kind"], name))
        assert doc["spec"]["rabbitmqClusterReference"] == {"name": cluster["metadata"]["name"]}
    kustomization = load_yaml(os.path.join(K8S, "kustomization.yaml"))
    assert "rabbitmq/topology.yaml" in kustomization["resources"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_its_own_broker_user_with_the_definitions_permissions(service):
    (user,) = [u for u in of_kind("User") if u["metadata"]["name"] == resource_name(service)]
    assert user["spec"]["importCredentialsSecret"] == {"name": broker_secret(service)}
    assert "tags" not in user["spec"]  # no management API
    (permission,) = [p for p in of_kind("Permission")
                     if p["spec"]["userReference"] == {"name": user["metadata"]["name"]}]
    (granted,) = [p for p in definitions()["permissions"] if p["user"] == service]
    assert permission["spec"]["vhost"] == granted["vhost"]
    assert permission["spec"]["permissions"] == {key: granted[key]
                                                 for key in ("configure", "write", "read")}

    env = deployment_env(service)
    for variable, key in (("RABBITMQ_USER", "username"), ("RABBITMQ_PASSWORD", "password")):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": broker_secret(service), "key": key}
    assert env["DECLARE_TOPOLOGY"]["value"] == "own"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_its_own_database_user_with_readwrite_on_its_own_database_only(service):
    (user,) = [u for u in mongodb()["spec"]["users"] if u["name"] == service]
    assert user["db"] == "admin"
    assert user["roles"] == [{"name": "readWrite", "db": service}]
    assert user["passwordSecretRef"] == {"name": "linkage-mongo-%s-password" % resource_name(service)}
    assert deployment_env(service)["MONGO_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": user["connectionStringSecretName"], "key": "connectionString.standard"}


@pytest.mark.parametrize("service", SERVICES)
def test_no_deployment_is_given_another_services_credentials(service):
    others = {broker_secret(other) for other in SERVICES if other != service}
    others |= {u["connectionStringSecretName"] for u in mongodb()["spec"]["users"] if u["name"] != service}
    others |= {"linkage-rabbitmq-default-user"}  # the administrator
    referenced = {item["valueFrom"]["secretKeyRef"]["name"] for item in deployment_env(service).values()
                  if "secretKeyRef" in item.get("valueFrom", {})}
    assert not referenced & others


def test_the_users_secrets_names_are_unique_across_the_operators():
    users = mongodb()["spec"]["users"]
    assert sorted(u["name"] for u in users) == sorted(SERVICES)
    names = [u["passwordSecretRef"]["name"] for u in users]
    names += [u["connectionStringSecretName"] for u in users]
    names += ["%s-scram-credentials" % u["scramCredentialsSecretName"] for u in users]
    names += [broker_secret(service) for service in SERVICES]
    assert len(names) == len(set(names))


def test_custom_resources_match_the_operators_crd_schemas():
    for doc in topology_resources():
        assert crd_schema_errors(doc, TOPOLOGY_CRDS) == [], "%s %s" % (doc["kind"], doc["metadata"]["name"])
    assert crd_schema_errors(mongodb(), MONGODB_CRDS) == []


def test_the_schema_check_catches_a_misspelt_field_and_a_wrong_type():
    (user,) = of_kind("User")[:1]
    user["spec"]["importCredentialSecret"] = user["spec"].pop("importCredentialsSecret")
    assert "unknown field .spec.importCredentialSecret" in crd_schema_errors(user, TOPOLOGY_CRDS)
    mongo = mongodb()
    mongo["spec"]["users"][0]["roles"] = "readWrite"
    assert any(error.startswith("spec/users/0/roles:") for error in crd_schema_errors(mongo, MONGODB_CRDS))
