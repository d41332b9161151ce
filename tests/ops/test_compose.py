"""docker-compose.yml: valid (Debian's docker-compose renders it with the
variables of .env.example), every service has a healthcheck, the services
reach RabbitMQ and the MongoDB replica set, and no secret is written in it."""
import os
import re
import secrets
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.ops.helpers import OPS, PORTS, REPO, SERVICES, TOKEN_KEYS, require_tool

COMPOSE_FILE = os.path.join(REPO, "docker-compose.yml")
ENV_EXAMPLE = os.path.join(REPO, ".env.example")
INFRASTRUCTURE = {"rabbitmq", "mongo", "blackbox", "prometheus", "grafana"}
SECRET_KEY = re.compile(r"SECRET|PASSWORD|PASS$|TOKEN|KEY$")


def read_env(path):
    values = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def write_env(path, values):
    path.write_text("".join("%s=%s\n" % item for item in values.items()))
    return str(path)


def render(env_file):
    """`docker-compose config` with only the env file as input: a clean
    environment, so a LINKAGE_SECRET exported in the shell can't leak in."""
    compose = require_tool("docker-compose")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [compose, "--env-file", env_file, "-f", COMPOSE_FILE, "config"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def example_config():
    result = render(ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture
def random_env(tmp_path):
    """.env.example with every secret replaced by a fresh random value."""
    values = read_env(ENV_EXAMPLE)
    for key in values:
        if SECRET_KEY.search(key):
            values[key] = secrets.token_hex(20)
    return values, write_env(tmp_path / "random.env", values)


def raw_compose():
    return yaml.safe_load(open(COMPOSE_FILE))


# ---------------------------------------------------------------- validity
def test_compose_file_is_valid_with_the_example_env(example_config):
    assert set(example_config["services"]) == set(SERVICES) | INFRASTRUCTURE
    assert set(example_config["volumes"]) >= {"rabbitmq-data", "mongo-data", "prometheus-data", "grafana-data"}


def test_every_service_has_a_healthcheck(example_config):
    for name, service in example_config["services"].items():
        check = service.get("healthcheck")
        assert check, "%s has no healthcheck" % name
        assert not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name


def test_a_missing_secret_stops_compose(tmp_path):
    values = read_env(ENV_EXAMPLE)
    del values["POLICE_TOKEN_KEY"]
    result = render(write_env(tmp_path / "no-secret.env", values))
    assert result.returncode != 0
    assert "POLICE_TOKEN_KEY" in result.stderr


# ------------------------------------------------- the five linkage services
@pytest.mark.parametrize("service", SERVICES)
def test_service_reaches_rabbitmq_and_the_mongo_replica_set(random_env, service):
    values, env_file = random_env
    result = render(env_file)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)["services"][service]
    env = config["environment"]

    amqp = urlsplit(env["AMQP_URI"])
    assert amqp.scheme in ("amqp", "pyamqp")
    assert (amqp.hostname, amqp.port) == ("rabbitmq", 5672)
    assert (amqp.username, amqp.password) == (values["RABBITMQ_USER"], values["RABBITMQ_PASSWORD"])

    mongo = urlsplit(env["MONGO_URI"])
    assert mongo.scheme == "mongodb" and mongo.hostname == "mongo" and (mongo.port or 27017) == 27017
    assert parse_qs(mongo.query)["replicaSet"] == ["rs0"]

    # its own agency's key, and no other agency's
    assert env["LINKAGE_SECRET"] == values[TOKEN_KEYS[service]]
    assert not set(env.values()) & {values[key] for other, key in TOKEN_KEYS.items() if other != service}
    assert env["LINKAGE_ENV"] == "production"
    assert env["HTTP_PORT"] == str(PORTS[service])
    assert config["command"] == [service]
    assert config["build"]["context"] == REPO
    assert config["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                    "mongo": {"condition": "service_healthy"}}
    published = [(p["published"], p["target"], p.get("host_ip")) if isinstance(p, dict) else p
                 for p in config["ports"]]
    assert published in ([(PORTS[service], PORTS[service], "127.0.0.1")],
                         ["127.0.0.1:%d:%d/tcp" % (PORTS[service], PORTS[service])])
    assert "/health" in " ".join(config["healthcheck"]["test"])


def _healthcheck_script():
    test = raw_compose()["x-linkage-service"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    return test[3]


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False)])
def test_service_healthcheck_follows_the_health_endpoint(status, healthy):
    """Run the compose healthcheck (stdlib python, the slim image has no curl)
    against a server that answers /health with `status`."""
    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = dict(os.environ, HTTP_PORT=str(server.server_address[1]))
        result = subprocess.run([sys.executable, "-c", _healthcheck_script()], env=env,
                                capture_output=True, timeout=30)
    finally:
        server.shutdown()
    assert (result.returncode == 0) is healthy


# ----------------------------------------------------------------- secrets
def test_no_secret_is_written_in_the_compose_file(random_env):
    values, env_file = random_env
    text = open(COMPOSE_FILE).read()
    rendered = render(env_file).stdout
    for key, value in values.items():
        if SECRET_KEY.search(key):
            assert value in rendered, "%s is not taken from the env file" % key
            assert value not in text
    # every secret-looking environment entry is an interpolation that
    # refuses to run without its variable
    compose = raw_compose()
    environments = [compose["x-linkage-environment"]]
    environments += [svc.get("environment") or {} for svc in compose["services"].values()]
    for environment in environments:
        for key, value in environment.items():
            if SECRET_KEY.search(key) and key != "<<":
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), "%s=%r" % (key, value)
    assert "${RABBITMQ_PASSWORD:?" in compose["x-linkage-environment"]["AMQP_URI"]


def test_env_example_has_every_variable_and_only_placeholders():
    code = "".join(line for line in open(COMPOSE_FILE) if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", code))
    assert {"RABBITMQ_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} | set(TOKEN_KEYS.values()) <= used
    example = read_env(ENV_EXAMPLE)
    assert used <= set(example), "missing from .env.example: %s" % (used - set(example))
    for key, value in example.items():
        if SECRET_KEY.search(key):
            assert value == "CHANGE-ME", "%s in .env.example must be a placeholder" % key
    assert ".env" in open(os.path.join(REPO, ".gitignore")).read().split()


def test_init_env_writes_random_secrets_once(tmp_path):
    target = tmp_path / ".env"
    subprocess.run([os.path.join(OPS, "init-env.sh"), str(target)], check=True, capture_output=True)
    values = read_env(str(target))
    assert set(values) == set(read_env(ENV_EXAMPLE))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    for key, value in values.items():
        if SECRET_KEY.search(key):
            assert re.fullmatch(r"[0-9a-f]{64}", value), key  # long enough for production, URL-safe
    # renders, and a second run keeps the existing file
    assert render(str(target)).returncode == 0
    before = target.read_text()
    subprocess.run([os.path.join(OPS, "init-env.sh"), str(target)], check=True, capture_output=True)
    assert target.read_text() == before


# ---------------------------------------------------------- infrastructure
def test_rabbitmq_imports_the_topology_at_boot(example_config):
    rabbit = example_config["services"]["rabbitmq"]
    assert rabbit["image"].startswith("rabbitmq:3.") and "management" in rabbit["image"]
    volumes = [v if isinstance(v, str) else "%s:%s" % (v["source"], v["target"]) for v in rabbit["volumes"]]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in volumes}
    assert mounted["/etc/rabbitmq/rabbitmq.conf"] == os.path.join(OPS, "rabbitmq", "rabbitmq.conf")
    assert mounted["/etc/rabbitmq/enabled_plugins"] == os.path.join(OPS, "rabbitmq", "enabled_plugins")
    assert mounted["/etc/rabbitmq/topology.json"] == os.path.join(OPS, "rabbitmq", "definitions.json")
    script = mounted[rabbit["entrypoint"][-1]]
    assert script == os.path.join(OPS, "rabbitmq", "render-definitions.sh")
    # the script writes where rabbitmq.conf reads, on a tmpfs
    conf = open(os.path.join(OPS, "rabbitmq", "rabbitmq.conf")).read()
    path = re.search(r"^definitions\.local\.path\s*=\s*(\S+)", conf, re.M).group(1)
    assert "definitions.import_backend = local_filesystem" in conf
    assert "${LINKAGE_DEFINITIONS:-%s}" % path in open(script).read()
    assert os.path.dirname(path) in rabbit["tmpfs"]
    assert rabbit["hostname"] == "rabbitmq"  # stable node name for the data volume
    assert "rabbitmq-diagnostics" in " ".join(rabbit["healthcheck"]["test"])
    assert rabbit["environment"]["RABBITMQ_PASSWORD"] == "CHANGE-ME"  # from the env file


def test_mongo_runs_as_an_auto_initiated_replica_set(example_config):
    mongo = example_config["services"]["mongo"]
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in check and "_id: 'rs0'" in check and "host: 'mongo:27017'" in check
    assert "rs.status()" in check  # initiate only when not initiated yet
    assert "isWritablePrimary" in check  # healthy only once writable
    assert "ports" not in mongo  # not published on the host


def test_prometheus_and_grafana_get_the_project_config(example_config):
    prometheus = example_config["services"]["prometheus"]
    volumes = [v if isinstance(v, str) else "%s:%s" % (v["source"], v["target"]) for v in prometheus["volumes"]]
    assert any(v.startswith(os.path.join(OPS, "prometheus", "prometheus.yml") + ":/etc/prometheus/prometheus.yml")
               for v in volumes)
    # alerts.yml beside prometheus.yml: rule_files names it relatively
    assert any(v.startswith(os.path.join(OPS, "prometheus", "alerts.yml") + ":/etc/prometheus/alerts.yml")
               for v in volumes)
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    grafana = example_config["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "CHANGE-ME"
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name, service in example_config["services"].items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", "%s publishes a port on every interface" % name
