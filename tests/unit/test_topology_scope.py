"""DECLARE_TOPOLOGY: `all` (the local stack, as guest) declares the whole
topology; `own` (compose, Kubernetes) only what the service's broker user may
configure, its own exchange and queues, without binding them to other
parties' exchanges. The broker itself enforces the permissions:
tests/ops/test_least_privilege.py."""
import re

import pytest

from shared import topology
from shared.catalogue import CATALOGUE
from shared.settings import DEFAULT_RETRY_DELAYS_MS, Settings


class RecordingChannel:
    """Stands in for an AMQP channel: records what is declared and bound."""

    def __init__(self):
        self.exchanges, self.queues, self.bindings = [], [], []

    def exchange_declare(self, exchange, **kwargs):
        self.exchanges.append(exchange)

    def queue_declare(self, queue, **kwargs):
        self.queues.append(queue)
        return queue, 0, 0

    def queue_bind(self, queue, exchange, routing_key, **kwargs):
        self.bindings.append((exchange, queue, routing_key))

    def prepare_queue_arguments(self, arguments, **kwargs):
        return arguments


def test_the_setting_names_the_service_as_owner_only_when_own():
    assert Settings.from_config("developer", {}).topology_owner is None
    assert Settings.from_config("developer", {"DECLARE_TOPOLOGY": "all"}).topology_owner is None
    assert Settings.from_config("developer", {"DECLARE_TOPOLOGY": " Own "}).topology_owner == "developer"
    with pytest.raises(ValueError, match="DECLARE_TOPOLOGY"):
        Settings.from_config("developer", {"DECLARE_TOPOLOGY": "mine"})


def test_all_declares_every_exchange_queue_and_binding():
    channel = RecordingChannel()
    topology.declare(channel, CATALOGUE, DEFAULT_RETRY_DELAYS_MS)
    everything = topology.all_queues(CATALOGUE, DEFAULT_RETRY_DELAYS_MS)
    assert set(channel.queues) == {queue.name for queue in everything}
    assert "neighborhood_committee.events" in channel.exchanges
    assert ("neighborhood_committee.events", "community_police.returnee_registered",
            "returnee_registered") in channel.bindings


@pytest.mark.parametrize("service", CATALOGUE.services())
def test_own_declares_what_its_user_may_configure_and_binds_nothing(service):
    channel = RecordingChannel()
    topology.declare(channel, CATALOGUE, DEFAULT_RETRY_DELAYS_MS, owner=service)
    configure = topology.permissions(service)["configure"]
    retries = {topology.retry_name(service, delay) for delay in DEFAULT_RETRY_DELAYS_MS}
    assert set(channel.exchanges) == {topology.event_exchange_name(service),
                                      topology.redelivery_name(service),
                                      topology.dead_letter_queue_name(service)} | retries
    declared = channel.exchanges + channel.queues
    assert channel.queues and all(re.search(configure, name) for name in declared)
    consumed = {topology.consumer_queue_name(service, spec.event_type)
                for spec in CATALOGUE if service in spec.consumers}
    assert set(channel.queues) == consumed | {topology.dead_letter_queue_name(service)} | retries
    assert channel.bindings == []  # reading no other party's exchange, it could not


def test_an_unbound_consumer_queue_is_the_bound_one_without_its_bindings():
    spec = CATALOGUE.spec("case_reported")
    bound, unbound = (topology.consumer_queue("neighborhood_committee", spec, bound=flag)
                      for flag in (True, False))
    assert unbound.name == bound.name and unbound.queue_arguments == bound.queue_arguments
    # each producer's exchange, and its own redelivery exchange by its own name
    assert topology.queue_bindings(bound) == sorted(
        [(topology.event_exchange_name(producer), "case_reported") for producer in spec.producers]
        + [(topology.redelivery_name("neighborhood_committee"), bound.name)])
    assert topology.queue_bindings(unbound) == []


@pytest.mark.parametrize("service", CATALOGUE.services())
def test_a_services_redelivery_exchange_reaches_its_own_queues_only(service):
    """A retried or replayed message goes back by its queue's name through
    the service's redelivery exchange; no other service's queue is bound there."""
    bound = [(queue.name, key) for queue in topology.all_queues(CATALOGUE, DEFAULT_RETRY_DELAYS_MS)
             for exchange, key in topology.queue_bindings(queue)
             if exchange == topology.redelivery_name(service)]
    consumed = {topology.consumer_queue_name(service, spec.event_type)
                for spec in CATALOGUE if service in spec.consumers}
    assert {name for name, _ in bound} == consumed
    assert all(name == key for name, key in bound)
    retry = topology.retry_queue(service, DEFAULT_RETRY_DELAYS_MS[0])
    assert retry.queue_arguments["x-dead-letter-exchange"] == topology.redelivery_name(service)
    assert "x-dead-letter-routing-key" not in retry.queue_arguments  # keeps the queue's name
