"""Fault injection with a ledger: `python -m faults` (or `make faults`).

Each scenario starts a private stack (its own RabbitMQ node and FerretDB on
ports of their own, scripts/stack.sh with another STACK_DIR), the five
services on it, and the returnee flow at a steady rate; breaks something
mid-load; then accounts for every accepted registration at every party:
delivered exactly once, lost, or duplicated. See RELIABILITY.md.
"""
