"""docker-compose.yml: valid (Debian's docker-compose renders it with the
variables of .env.example), every long-running service has a healthcheck, the
services reach RabbitMQ and the MongoDB replica set each with users of its own
(and no other's password), MongoDB runs with authentication and its users are
made by the one-shot `mongo-users`, and no secret is written in it."""
import json
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

from tests.ops.helpers import (BLIND_INDEX_KEYS, BROKER_PASSWORDS, DATA_KEYS, DB_PASSWORDS,
                               TRANSIT_KEYS, OPS, PORTS, REPO, SERVICES, TOKEN_KEYS,
                               require_tool)

COMPOSE_FILE = os.path.join(REPO, "docker-compose.yml")
ENV_EXAMPLE = os.path.join(REPO, ".env.example")
INFRASTRUCTURE = {"rabbitmq", "mongo", "mongo-users", "blackbox", "prometheus", "grafana"}
ADMIN_PASSWORDS = ("RABBITMQ_PASSWORD", "MONGO_ROOT_PASSWORD", "MONGO_REPLICA_SET_KEY",
                   "GRAFANA_ADMIN_PASSWORD")
SECRET_KEY = re.compile(r"SECRET|PASSWORD|PASS$|TOKEN|KEYS?$")
# A personal-data key setting (shared/personal.py): key id, then 32 bytes in base64.
KEY_SETTING = re.compile(r"k1:[A-Za-z0-9+/]{43}=")


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


def mounted(service):
    """{path in the container: path on the host} of a service's volumes."""
    volumes = [v if isinstance(v, str) else "%s:%s" % (v["source"], v["target"])
               for v in service["volumes"]]
    return {v.split(":")[1]: v.split(":")[0] for v in volumes}


# ---------------------------------------------------------------- validity
def test_compose_file_is_valid_with_the_example_env(example_config):
    assert set(example_config["services"]) == set(SERVICES) | INFRASTRUCTURE
    assert set(example_config["volumes"]) >= {"rabbitmq-data", "mongo-data", "prometheus-data", "grafana-data"}


def one_shots(config):
    """Services that others wait for to finish, not to be healthy."""
    return {name for service in config["services"].values()
            for name, condition in (service.get("depends_on") or {}).items()
            if condition.get("condition") == "service_completed_successfully"}


def test_every_long_running_service_has_a_healthcheck(example_config):
    assert one_shots(example_config) == {"mongo-users"}
    for name, service in example_config["services"].items():
        if name in one_shots(example_config):
            assert service["restart"] == "no", name
            continue
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
def test_service_reaches_rabbitmq_and_the_mongo_replica_set_as_its_own_users(random_env, service):
    values, env_file = random_env
    result = render(env_file)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)["services"][service]
    env = config["environment"]

    amqp = urlsplit(env["AMQP_URI"])
    assert amqp.scheme in ("amqp", "pyamqp")
    assert (amqp.hostname, amqp.port) == ("rabbitmq", 5672)
    assert (amqp.username, amqp.password) == (service, values[BROKER_PASSWORDS[service]])
    # it declares only what its broker user may configure; the definitions the rest
    assert env["DECLARE_TOPOLOGY"] == "own"

    mongo = urlsplit(env["MONGO_URI"])
    assert mongo.scheme == "mongodb" and mongo.hostname == "mongo" and (mongo.port or 27017) == 27017
    assert (mongo.username, mongo.password) == (service, values[DB_PASSWORDS[service]])
    assert parse_qs(mongo.query) == {"replicaSet": ["rs0"], "authSource": ["admin"]}

    # its own agency's key and passwords, and no other agency's, nor an administrator's
    assert env["LINKAGE_SECRET"] == values[TOKEN_KEYS[service]]
    assert env["PERSONAL_DATA_KEYS"] == values[DATA_KEYS[service]]
    assert env["BLIND_INDEX_KEY"] == values[BLIND_INDEX_KEYS[service]]
    assert env["TRANSIT_KEYS"] == values[TRANSIT_KEYS]
    others = [key for other in SERVICES if other != service
              for key in (TOKEN_KEYS[other], BROKER_PASSWORDS[other], DB_PASSWORDS[other],
                          DATA_KEYS[other], BLIND_INDEX_KEYS[other])]
    for key in others + list(ADMIN_PASSWORDS):
        assert not any(values[key] in value for value in env.values()), key
    assert env["LINKAGE_ENV"] == "production"
    assert env["HTTP_PORT"] == str(PORTS[service])
    assert config["command"] == [service]
    assert config["build"]["context"] == REPO
    assert config["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                    "mongo": {"condition": "service_healthy"},
                                    "mongo-users": {"condition": "service_completed_successfully"}}
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
    for service in SERVICES:
        environment = compose["services"][service]["environment"]
        assert "${%s:?" % BROKER_PASSWORDS[service] in environment["AMQP_URI"]
        assert "${%s:?" % DB_PASSWORDS[service] in environment["MONGO_URI"]


def test_env_example_has_every_variable_and_only_placeholders():
    code = "".join(line for line in open(COMPOSE_FILE) if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", code))
    assert (set(ADMIN_PASSWORDS) | set(TOKEN_KEYS.values()) | set(BROKER_PASSWORDS.values())
            | set(DB_PASSWORDS.values()) | set(DATA_KEYS.values()) | set(BLIND_INDEX_KEYS.values())
            | {TRANSIT_KEYS}) <= used
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
        if key.endswith(("_KEYS", "INDEX_KEY")):
            assert KEY_SETTING.fullmatch(value), key  # what shared/personal.py parses
        elif SECRET_KEY.search(key):
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
    files = mounted(rabbit)
    assert files["/etc/rabbitmq/rabbitmq.conf"] == os.path.join(OPS, "rabbitmq", "rabbitmq.conf")
    assert files["/etc/rabbitmq/enabled_plugins"] == os.path.join(OPS, "rabbitmq", "enabled_plugins")
    assert files["/etc/rabbitmq/topology.json"] == os.path.join(OPS, "rabbitmq", "definitions.json")
    script = files[rabbit["entrypoint"][-1]]
    assert script == os.path.join(OPS, "rabbitmq", "render-definitions.sh")
    # the script writes where rabbitmq.conf reads, on a tmpfs
    conf = open(os.path.join(OPS, "rabbitmq", "rabbitmq.conf")).read()
    path = re.search(r"^definitions\.local\.path\s*=\s*(\S+)", conf, re.M).group(1)
    assert "definitions.import_backend = local_filesystem" in conf
    assert "${LINKAGE_DEFINITIONS:-%s}" % path in open(script).read()
    assert os.path.dirname(path) in rabbit["tmpfs"]
    assert rabbit["hostname"] == "rabbitmq"  # stable node name for the data volume
    assert "rabbitmq-diagnostics" in " ".join(rabbit["healthcheck"]["test"])
    # from the env file: the administrator's and each service user's password
    assert rabbit["environment"]["RABBITMQ_PASSWORD"] == "CHANGE-ME"
    for key in BROKER_PASSWORDS.values():
        assert rabbit["environment"][key] == "CHANGE-ME"


def test_mongo_runs_as_an_auto_initiated_replica_set(example_config):
    mongo = example_config["services"]["mongo"]
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in check and "_id: 'rs0'" in check and "host: 'mongo:27017'" in check
    assert "rs.status()" in check  # initiate only when not initiated yet
    assert "isWritablePrimary" in check  # healthy only once writable
    assert "ports" not in mongo  # not published on the host


def test_mongo_requires_authentication_with_a_key_file_from_the_env_file(example_config):
    mongo = example_config["services"]["mongo"]
    environment = mongo["environment"]
    # the image creates this root user on the first start and adds --auth
    assert environment["MONGO_INITDB_ROOT_USERNAME"] == "admin"
    assert environment["MONGO_INITDB_ROOT_PASSWORD"] == "CHANGE-ME"
    # a replica set with authentication needs its key file: written from .env
    # by the entrypoint wrapper onto a tmpfs, where --keyFile points
    assert environment["MONGO_REPLICA_SET_KEY"] == "CHANGE-ME"
    command = mongo["command"]
    keyfile = command[command.index("--keyFile") + 1]
    script = mounted(mongo)[mongo["entrypoint"][-1]]
    assert script == os.path.join(OPS, "mongo", "keyfile.sh")
    assert "${MONGO_KEYFILE:-%s}" % keyfile in open(script).read()
    assert os.path.dirname(keyfile) in mongo["tmpfs"]
    # the healthcheck signs in as root before it looks at the replica set
    check = mongo["healthcheck"]["test"][-1]
    sign_in = "auth(process.env.MONGO_INITDB_ROOT_USERNAME, process.env.MONGO_INITDB_ROOT_PASSWORD)"
    assert sign_in in check and check.index(sign_in) < check.index("rs.status()")


def test_mongo_users_runs_once_the_replica_set_is_up_with_the_database_passwords(example_config):
    job = example_config["services"]["mongo-users"]
    assert job["image"] == example_config["services"]["mongo"]["image"]
    assert job["depends_on"] == {"mongo": {"condition": "service_healthy"}}
    entrypoint = job["entrypoint"]
    assert entrypoint[0] == "mongosh"
    uri = urlsplit(next(arg for arg in entrypoint if arg.startswith("mongodb://")))
    assert uri.hostname == "mongo" and uri.username is None  # signs in inside the script
    assert parse_qs(uri.query)["replicaSet"] == ["rs0"]
    script = entrypoint[entrypoint.index("--file") + 1]
    assert mounted(job)[script] == os.path.join(OPS, "mongo", "users.js")
    assert set(job["environment"]) == ({"MONGO_ROOT_USER", "MONGO_ROOT_PASSWORD"}
                                       | set(DB_PASSWORDS.values()))


USERS_HARNESS = r"""
const fs = require("fs"), vm = require("vm");
const existing = JSON.parse(process.argv[2]);
const calls = [];
const admin = {
  auth: (user, pwd) => { calls.push(["auth", user, pwd]); return {ok: 1}; },
  getUser: (name) => existing.includes(name) ? {user: name} : null,
  createUser: (spec) => { calls.push(["createUser", spec]); },
  updateUser: (name, spec) => { calls.push(["updateUser", name, spec]); },
};
const db = {getSiblingDB: (name) => {
  if (name !== "admin") { throw new Error("users belong in admin, not " + name); }
  return admin;
}};
try {
  const script = fs.readFileSync(process.argv[1], "utf8");
  vm.runInNewContext(script, {db, process: {env: process.env}, print: () => {}});
} catch (error) {
  calls.push(["error", error.message]);
}
console.log(JSON.stringify(calls));
"""


def run_users_script(env, existing=()):
    """ops/mongo/users.js under node, against a stand-in for mongosh's `db`
    that records what the script asks of MongoDB."""
    node = require_tool("node")
    result = subprocess.run([node, "-e", USERS_HARNESS, os.path.join(OPS, "mongo", "users.js"),
                             json.dumps(list(existing))],
                            env=dict(env, PATH=os.environ.get("PATH", "")), capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_users_script_gives_each_service_readwrite_on_its_own_database_only():
    env = {key: secrets.token_hex(12) for key in DB_PASSWORDS.values()}
    env.update(MONGO_ROOT_USER="admin", MONGO_ROOT_PASSWORD="root-secret")
    calls = run_users_script(env, existing=["community_police"])
    assert calls[0] == ["auth", "admin", "root-secret"]
    made = {}
    for call in calls[1:]:
        if call[0] == "createUser":
            made[call[1]["user"]] = call[1]
        else:
            assert call[0] == "updateUser", call
            made[call[1]] = dict(call[2], user=call[1])
    assert set(made) == set(SERVICES)
    assert [call[1] for call in calls if call[0] == "updateUser"] == ["community_police"]
    for service, user in made.items():
        assert user["pwd"] == env[DB_PASSWORDS[service]]
        assert user["roles"] == [{"role": "readWrite", "db": service}]


def test_users_script_fails_without_a_password():
    env = {key: secrets.token_hex(12) for key in DB_PASSWORDS.values()}
    env.update(MONGO_ROOT_USER="admin", MONGO_ROOT_PASSWORD="root-secret")
    del env[DB_PASSWORDS["developer"]]
    calls = run_users_script(env)
    assert calls[-1] == ["error", "%s is not set" % DB_PASSWORDS["developer"]]


def run_keyfile_script(tmp_path, key):
    out = tmp_path / "run" / "mongo-keyfile"
    env = dict(os.environ, MONGO_REPLICA_SET_KEY=key, MONGO_KEYFILE=str(out))
    result = subprocess.run(["sh", os.path.join(OPS, "mongo", "keyfile.sh")], env=env,
                            capture_output=True, text=True, timeout=30)
    return result, out


def test_keyfile_script_writes_the_key_for_mongod_alone(tmp_path):
    key = secrets.token_hex(32)
    result, out = run_keyfile_script(tmp_path, key)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == key + "\n"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o400  # mongod refuses a key file others can read


@pytest.mark.parametrize("key", ["CHANGE-ME", "abc", "not base64!", "x" * 1025, ""])
def test_keyfile_script_refuses_a_placeholder_or_unusable_key(tmp_path, key):
    result, out = run_keyfile_script(tmp_path, key)
    assert result.returncode != 0
    assert not out.exists()


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
