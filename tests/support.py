"""Small helpers for tests: free ports, tokens, waiting for a condition."""
import socket
import time

from shared.auth import issue_token
from shared.settings import DEVELOPMENT_SECRET


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token_for(agency, user="tester", secret=DEVELOPMENT_SECRET):
    return issue_token(secret, agency, user)


def auth(agency, user="tester"):
    return {"Authorization": "Bearer " + token_for(agency, user)}


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
