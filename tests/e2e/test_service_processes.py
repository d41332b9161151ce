"""Each service as a real `nameko run` process: health, liveness, metrics,
and refusing to start in production on the development secret."""
import os
import subprocess
import sys

import pytest
import requests

from shared.parties import ALL

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("service", ALL)
def test_each_service_is_healthy_alive_and_exports_its_metrics(system, service):
    health = requests.get(system.url(service) + "/health", timeout=10)
    assert health.status_code == 200
    body = health.json()
    assert body.pop("write_guards") in ("process", "database")
    assert body == {"status": "healthy", "checks": {"broker": "up", "database": "up"}}
    assert requests.get(system.url(service) + "/alive", timeout=10).json() == {"status": "alive"}
    metrics = requests.get(system.url(service) + "/metrics", timeout=10)
    assert metrics.headers["Content-Type"].startswith("text/plain")
    for name in ("events_published_total", "events_consumed_total", "outbox_backlog_events",
                 "outbox_oldest_pending_age_seconds", "http_request_duration_seconds_bucket"):
        assert "%s_%s" % (service, name) in metrics.text


def test_production_refuses_the_development_secret():
    linkage = os.path.join(os.path.dirname(sys.executable), "linkage")
    env = dict(os.environ, LINKAGE_ENV="production")
    env.pop("LINKAGE_SECRET", None)
    result = subprocess.run([linkage, "run", "developer"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "refusing to start developer" in result.stderr
    assert "LINKAGE_SECRET" in result.stderr


@pytest.mark.parametrize("signals", [("SIGTERM",), ("SIGINT",), ("SIGTERM", "SIGTERM"),
                                     ("SIGINT", "SIGTERM")])
def test_a_service_exits_promptly_on_one_signal_or_two(mongo_client, signals):
    """The committee has timers: a second signal used to stop one twice and
    leave the process running for good."""
    import signal
    import time
    from tests.system import System
    with System() as system:
        system.start("neighborhood_committee")
        process = system.processes["neighborhood_committee"]
        try:
            for name in signals:
                process.send_signal(getattr(signal, name))
                time.sleep(0.2)
            process.wait(timeout=10)  # not a speed goal: "stops at all", with a bound
        finally:
            if process.poll() is None:
                process.kill()
            system.drop_databases(mongo_client)
        assert process.returncode is not None


def test_a_second_instance_on_a_port_in_use_refuses_to_start(system):
    """Not a silent split of the traffic (SO_REUSEPORT) but a clear refusal."""
    linkage = os.path.join(os.path.dirname(sys.executable), "linkage")
    result = subprocess.run([linkage, "run", "developer"], env=system.env("developer"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "is in use: is another developer running there?" in result.stdout + result.stderr
    assert requests.get(system.url("developer") + "/health", timeout=10).status_code == 200
