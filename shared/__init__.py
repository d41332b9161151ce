"""The platform library every five-party service is built on.

Service code talks to nameko, RabbitMQ and MongoDB only through the thin
layers here: the event catalogue, the outbox relay, the reliable event
consumer, the Mongo store, the HTTP API entrypoint, auth, metrics and logs.
"""
