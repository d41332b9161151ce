"""The broker's definitions as custom resources of RabbitMQ's messaging
topology operator, for Kubernetes (`linkage topology --kubernetes`, committed
as k8s/rabbitmq/topology.yaml): what compose imports at boot, applied by the
operator instead, since the cluster operator's own user must stay the one it
generated.

Each service's User takes its name and password from the Secret
`linkage-broker-<service>`, created by hand. Queues are kept when their
resource is deleted: events may be waiting in them.
"""
from shared import topology

CLUSTER = "linkage-rabbitmq"  # k8s/rabbitmq/rabbitmqcluster.yaml
LABELS = {"app.kubernetes.io/part-of": "five-party-linkage"}


def resource_name(name):
    """A broker name as a Kubernetes object name (no underscores there)."""
    return name.replace("_", "-")


def broker_secret(service):
    return "linkage-broker-%s" % resource_name(service)


def resources(catalogue, retry_delays_ms):
    definitions = topology.definitions(catalogue, retry_delays_ms)
    reference = {"name": CLUSTER}

    def resource(kind, name, spec):
        return {"apiVersion": "rabbitmq.com/v1beta1", "kind": kind,
                "metadata": {"name": resource_name(name), "labels": dict(LABELS)},
                "spec": dict(spec, rabbitmqClusterReference=reference)}

    found = []
    for exchange in definitions["exchanges"]:
        found.append(resource("Exchange", exchange["name"], {
            "name": exchange["name"], "vhost": exchange["vhost"], "type": exchange["type"],
            "durable": exchange["durable"], "autoDelete": exchange["auto_delete"]}))
    for queue in definitions["queues"]:
        arguments = dict(queue["arguments"])
        found.append(resource("Queue", queue["name"], {
            "name": queue["name"], "vhost": queue["vhost"], "type": arguments.pop("x-queue-type"),
            "durable": queue["durable"], "autoDelete": queue["auto_delete"],
            "arguments": arguments, "deletionPolicy": "retain"}))
    for binding in definitions["bindings"]:
        found.append(resource("Binding", "%s--%s" % (binding["source"], binding["destination"]), {
            "vhost": binding["vhost"], "source": binding["source"],
            "destination": binding["destination"], "destinationType": binding["destination_type"],
            "routingKey": binding["routing_key"]}))
    for granted in definitions["permissions"]:
        service = granted["user"]
        found.append(resource("User", service, {
            "importCredentialsSecret": {"name": broker_secret(service)}}))
        found.append(resource("Permission", service, {
            "vhost": granted["vhost"], "userReference": {"name": resource_name(service)},
            "permissions": {key: granted[key] for key in ("configure", "write", "read")}}))
    return found
