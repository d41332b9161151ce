"""Small helpers for tests: free ports, tokens, waiting for a condition."""
import socket
import time

from kombu import Connection

from shared.auth import development_key, issue_token
from shared.settings import DEVELOPMENT_SECRET


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def publishing_connection(amqp_uri):
    """A broker connection whose publishes wait for the broker's confirm, as
    the services' own do. Without one, a message published just before the
    connection closes can be dropped: seen here on a loaded machine, one of
    two messages to a quorum queue never arrived."""
    return Connection(amqp_uri, connect_timeout=10, transport_options={"confirm_publish": True})


def token_for(agency, user="tester", secret=None, roles=None, **kwargs):
    """A token of `agency` signed with its development key (or `secret`),
    with every role of the agency unless `roles` says otherwise."""
    key = secret or development_key(DEVELOPMENT_SECRET, agency)
    return issue_token(key, agency, user, roles=roles, **kwargs)


def auth(agency, user="tester", roles=None):
    return {"Authorization": "Bearer " + token_for(agency, user, roles=roles)}


def wait_for(condition, what, timeout=30.0, interval=0.05):
    """Poll `condition` until it returns something truthy; fail saying `what`
    did not happen. (Waiting for an effect, not asserting a speed.)"""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class Api:
    """A front end's HTTP client for one agency's API."""

    def __init__(self, base_url, agency, user="tester", roles=None, token=None):
        import requests
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + (token or token_for(agency, user,
                                                                                roles=roles))

    def get(self, path, **params):
        return self.session.get(self.base_url + path, params=params, timeout=15)

    def post(self, path, body=None, headers=None):
        return self.session.post(self.base_url + path, json=body, headers=headers or {}, timeout=15)

    def delete(self, path):
        return self.session.delete(self.base_url + path, timeout=15)


def registration(local_hukou=False, name="Zhang Wei", building="3", unit="2", room="301",
                 sequence=None, **overrides):
    """A valid registration body with a fresh, valid ID number."""
    import random
    from datetime import date, timedelta
    from shared.identity import make_id_number
    born = date(1960, 1, 1) + timedelta(days=random.randint(0, 20000))
    body = {
        "name": name,
        "id_number": make_id_number("420106", born, sequence if sequence is not None
                                    else random.randint(0, 999)),
        "phone": "139%08d" % random.randint(0, 99999999),
        "address": {"building": building, "unit": unit, "room": room},
        "origin": "Wuhan, Hubei",
        "arrival_date": (date.today() - timedelta(days=1)).isoformat(),
        "local_hukou": local_hukou,
    }
    body.update(overrides)
    return body
