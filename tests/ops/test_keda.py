"""KEDA scales each service on the depth of its own consumer queues
(k8s/keda/): one ScaledObject per Deployment, whose rabbitmq trigger counts
exactly the queues the catalogue and topology declare for that service and
its handlers consume, never its dead-letter queue; bounds that agree with the
Deployment and its PodDisruptionBudget; replicas that are safe
(WRITE_GUARDS=database on the operator's MongoDB). The KEDA objects are also
checked offline against KEDA's own CRD schemas (tests/ops/crds/), as the API
server would: types, required fields, and fields it would drop."""
import inspect
import os
import re
from urllib.parse import unquote, urlsplit

import pytest

from shared import topology
from shared.catalogue import CATALOGUE
from shared.cli import SERVICE_CLASSES
from shared.consumer import EventHandler
from shared.runner import service_class
from shared.settings import DEFAULT_RETRY_DELAYS_MS
from tests.ops.helpers import K8S, SERVICES, crd_schema_errors, load_yaml, load_yaml_documents

KEDA_CRDS = "keda-2.20.2"  # under tests/ops/crds/
# What the KEDA rabbitmq scaler and the management API impose on a regex trigger
DEFAULT_PAGE_SIZE = 100        # KEDA errors out if the regex matches more queues than one page
MAX_FILTER_LENGTH = 1024       # RabbitMQ refuses a longer name filter
MANAGEMENT_PORT = 15672
HPA_MAX_STABILIZATION_SECONDS = 3600  # KEDA accepts more; the HPA it creates does not


def kustomization():
    return load_yaml(os.path.join(K8S, "kustomization.yaml"))


def applied(kind):
    return [doc for resource in kustomization()["resources"]
            for doc in load_yaml_documents(os.path.join(K8S, resource)) if doc["kind"] == kind]


def by_name(docs):
    return {doc["metadata"]["name"]: doc for doc in docs}


def dns_name(service):
    return service.replace("_", "-")


def scaled_object(service):
    (found,) = [so for so in applied("ScaledObject")
                if so["spec"]["scaleTargetRef"]["name"] == dns_name(service)]
    return found


def rabbitmq_trigger(service):
    (trigger,) = scaled_object(service)["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    return trigger


def env_of(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item for item in container["env"]}


# ------------------------------------------------------------------ queues
def declared_queues():
    return {queue.name for queue in topology.all_queues(CATALOGUE, DEFAULT_RETRY_DELAYS_MS)}


def consumer_queues(service):
    """The service's queues by the catalogue: one per event type it consumes."""
    return {topology.consumer_queue_name(service, spec.event_type)
            for spec in CATALOGUE if service in spec.consumers}


def handled_queues(service):
    """The queues the service's event handlers consume when it runs."""
    handlers = [entrypoint for _, member in inspect.getmembers(service_class(SERVICE_CLASSES[service]))
                for entrypoint in getattr(member, "nameko_entrypoints", ())
                if isinstance(entrypoint, EventHandler)]
    return {topology.consumer_queue_name(service, handler.event_type) for handler in handlers}


def counted_queues(queue_regex):
    """The declared queues the management API matches: Erlang's re (PCRE),
    unanchored and caseless (rabbit_mgmt_util:match_value); Python's re agrees
    on the lookahead and anchors the triggers use."""
    pattern = re.compile(queue_regex, re.IGNORECASE)
    return {name for name in declared_queues() if pattern.search(name)}


def coverage(queue_regex, service):
    """(consumer queues the regex misses, other queues it counts)."""
    counted = counted_queues(queue_regex)
    return consumer_queues(service) - counted, counted - consumer_queues(service)


def test_every_service_deployment_has_one_scaled_object():
    targets = [so["spec"]["scaleTargetRef"] for so in applied("ScaledObject")]
    assert sorted(target["name"] for target in targets) == sorted(dns_name(s) for s in SERVICES)
    assert set(by_name(applied("Deployment"))) >= {target["name"] for target in targets}
    for target in targets:  # KEDA's defaults: apps/v1 Deployment
        assert target.get("kind", "Deployment") == "Deployment"
        assert target.get("apiVersion", "apps/v1") == "apps/v1"


@pytest.mark.parametrize("service", SERVICES)
def test_the_trigger_counts_the_waiting_messages_of_every_consumer_queue_and_no_other(service):
    metadata = rabbitmq_trigger(service)["metadata"]
    # one trigger over a regex of queues, summed: needs the management API
    assert metadata["protocol"] == "http"
    assert metadata["useRegex"] == "true"
    assert metadata.get("operation", "sum") == "sum"
    assert metadata["mode"] == "QueueLength"
    # messages a replica holds (unacked, its prefetch) are in progress, not waiting
    assert metadata["excludeUnacknowledged"] == "true"
    assert float(metadata["value"]) > 0

    missing, extra = coverage(metadata["queueName"], service)
    assert not missing, "%s's trigger does not count %s" % (service, sorted(missing))
    assert not extra, "%s's trigger counts queues it does not consume: %s" % (service, sorted(extra))
    assert topology.dead_letter_queue_name(service) not in counted_queues(metadata["queueName"])
    assert len(consumer_queues(service)) <= int(metadata.get("pageSize", DEFAULT_PAGE_SIZE))
    assert len(metadata["queueName"]) <= MAX_FILTER_LENGTH


@pytest.mark.parametrize("service", SERVICES)
def test_every_counted_queue_has_a_handler_in_the_service(service):
    # a queue nobody consumes never drains and would hold the service at its maximum
    unhandled = consumer_queues(service) - handled_queues(service)
    assert not unhandled, "%s has no handler for %s" % (service, sorted(unhandled))
    assert handled_queues(service) == consumer_queues(service)


def test_the_coverage_check_catches_a_missing_and_an_extra_queue():
    service = "neighborhood_committee"
    queue_regex = rabbitmq_trigger(service)["metadata"]["queueName"]
    assert coverage(queue_regex, service) == (set(), set())
    # one event type left out
    narrowed = r"^neighborhood_committee\.(?!dead_letters$|retry\.|case_reported$)"
    assert coverage(narrowed, service) == ({"neighborhood_committee.case_reported"}, set())
    # the dead letters and the retry queues counted, and a prefix that is another service's too
    retries = {topology.retry_name(service, delay) for delay in DEFAULT_RETRY_DELAYS_MS}
    assert coverage(r"^neighborhood_committee\.", service) == (
        set(), {"neighborhood_committee.dead_letters"} | retries)
    assert "community_police.returnee_registered" in coverage(r"\.returnee_registered$", service)[1]


@pytest.mark.parametrize("service", SERVICES)
def test_replica_bounds_agree_with_the_deployment_and_its_disruption_budget(service):
    spec = scaled_object(service)["spec"]
    deployment = by_name(applied("Deployment"))[dns_name(service)]
    (budget,) = [pdb for pdb in applied("PodDisruptionBudget")
                 if pdb["spec"]["selector"] == deployment["spec"]["selector"]]
    low, high = spec["minReplicaCount"], spec["maxReplicaCount"]
    # never zero: every replica serves HTTP and runs the timers
    assert 1 <= low < high
    # a node drain may still evict one pod at the minimum
    assert low > budget["spec"]["minAvailable"]
    # `kubectl apply -k` at rest does not fight the autoscaler
    assert deployment["spec"].get("replicas", low) == low
    # the cooldown: KEDA's cooldownPeriod only acts on scaling to zero
    assert "idleReplicaCount" not in spec
    scale_down = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert 0 < scale_down["stabilizationWindowSeconds"] <= HPA_MAX_STABILIZATION_SECONDS
    assert scale_down["policies"]


@pytest.mark.parametrize("service", SERVICES)
def test_scaled_deployments_are_safe_as_several_replicas(service):
    env = env_of(by_name(applied("Deployment"))[dns_name(service)])
    # several writers: MongoDB checks each write's guard (shared/writes.py)
    assert env["WRITE_GUARDS"]["value"] == "database"
    # ... which needs MongoDB itself: the operator's replica set, not FerretDB
    (mongo,) = applied("MongoDBCommunity")
    assert env["MONGO_URI"]["valueFrom"]["secretKeyRef"]["name"].startswith(mongo["metadata"]["name"] + "-")


@pytest.mark.parametrize("service", SERVICES)
def test_the_trigger_reads_the_services_broker_with_the_operators_user(service):
    trigger = rabbitmq_trigger(service)
    (cluster,) = applied("RabbitmqCluster")
    host = urlsplit(trigger["metadata"]["host"])
    # KEDA's operator runs in its own namespace: the full service name
    assert host.scheme == "http"
    assert host.hostname == "%s.%s.svc" % (cluster["metadata"]["name"], kustomization()["namespace"])
    assert host.port == MANAGEMENT_PORT
    assert host.username is None and host.password is None  # credentials from the secret only
    # the vhost the service consumes in
    amqp_uri = env_of(by_name(applied("Deployment"))[dns_name(service)])["AMQP_URI"]
    assert "value" in amqp_uri, "AMQP_URI is no longer literal: check the trigger's vhostName by hand"
    assert trigger["metadata"]["vhostName"] == (unquote(urlsplit(amqp_uri["value"]).path[1:]) or "/")

    auth = by_name(applied("TriggerAuthentication"))[trigger["authenticationRef"]["name"]]
    assert trigger["authenticationRef"].get("kind", "TriggerAuthentication") == "TriggerAuthentication"
    refs = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
    assert set(refs) == {"username", "password"}
    for parameter, ref in refs.items():
        assert ref == {"parameter": parameter, "name": cluster["metadata"]["name"] + "-default-user",
                       "key": parameter}


# ------------------------------------------------------------------ KEDA's schemas
def schema_errors(doc):
    return crd_schema_errors(doc, KEDA_CRDS)


def keda_documents():
    return [doc for resource in kustomization()["resources"]
            for doc in load_yaml_documents(os.path.join(K8S, resource))
            if doc["apiVersion"].startswith("keda.sh/")]


def test_keda_manifests_match_kedas_crd_schemas():
    docs = keda_documents()
    assert {doc["kind"] for doc in docs} == {"ScaledObject", "TriggerAuthentication"}
    for doc in docs:
        assert schema_errors(doc) == [], "%s %s" % (doc["kind"], doc["metadata"]["name"])


def test_the_schema_check_catches_a_misspelt_field_and_a_number_for_a_string():
    (doc,) = [so for so in keda_documents() if so["kind"] == "ScaledObject"][:1]
    doc["spec"]["minReplicas"] = doc["spec"].pop("minReplicaCount")
    doc["spec"]["triggers"][0]["metadata"]["value"] = 50
    errors = schema_errors(doc)
    assert "unknown field .spec.minReplicas" in errors
    assert any(error.startswith("spec/triggers/0/metadata/value:") for error in errors), errors
