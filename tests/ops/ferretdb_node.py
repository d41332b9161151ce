"""A private FerretDB 1.24 (the local stack's database) on a private
PostgreSQL cluster that checks passwords (scram-sha-256), with FerretDB's own
connection carrying no user: a client signs in (PLAIN) as a PostgreSQL role,
FerretDB connects as that role, and PostgreSQL's privileges decide what it
may touch. (The local stack's cluster trusts every local connection and
FerretDB connects as its superuser: no isolation can be shown there.)

FerretDB keeps each database in a PostgreSQL schema, its collections in
tables, and lists them in the schema's `_ferretdb_database_metadata`. It
reads those lists once after its start, with the credentials of its first
client, and shares what it read with every later client: a database that
first client could not see stays invisible to all (reads find nothing,
writes fail) until FerretDB restarts. So every service role may read every
database's list (names of collections and indexes, no documents); the
documents themselves stay its owner's alone.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.ops.helpers import free_port

FERRETDB_VERSION = "v1.24.2"
METADATA_TABLE = "_ferretdb_database_metadata"


def _ferretdb_binary():
    cache = os.environ.get("LINKAGE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "five-party-linkage")
    return os.path.join(cache, "ferretdb-%s" % FERRETDB_VERSION)


def _postgres_bindir():
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    for bindir in reversed(found):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def _listening(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateFerretDB:
    def __init__(self):
        self.binary = _ferretdb_binary()
        self.bindir = _postgres_bindir()
        if not os.access(self.binary, os.X_OK):
            pytest.skip("FerretDB %s is not built yet (scripts/stack.sh builds it into %s)"
                        % (FERRETDB_VERSION, self.binary))
        if self.bindir is None:
            pytest.skip("PostgreSQL is not installed "
                        "(FERRETDB_HANDLER=postgresql scripts/stack.sh installs it)")
        # Short, and open to the postgres user: initdb and the server run as it under root.
        self.dir = Path(tempfile.mkdtemp(prefix="lp-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.pg_port, self.port = free_port(), free_port()
        self.superuser_password = os.urandom(12).hex()
        self.ferretdb = None

    # ------------------------------------------------------------ PostgreSQL
    def _as_postgres(self, *command, **kwargs):
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--") + command
        return subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=120,
                              **kwargs)

    def _start_postgres(self):
        data, password_file = self.dir / "pg", self.dir / "superuser-password"
        password_file.write_text(self.superuser_password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            shutil.chown(password_file, "postgres")
        result = self._as_postgres(str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                   "-A", "scram-sha-256", "--pwfile", str(password_file),
                                   "-E", "UTF8", "--no-locale")
        assert result.returncode == 0, result.stdout + result.stderr
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("listen_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" % self.dir)
        result = self._as_postgres(str(self.bindir / "pg_ctl"), "start", "-D", str(data),
                                   "-l", str(self.dir / "postgres.log"), "-o", "-p %d" % self.pg_port,
                                   "-w", "-t", "60")
        assert result.returncode == 0, result.stdout + result.stderr
        self.sql("CREATE DATABASE ferretdb", database="postgres")

    def sql(self, statements, database="ferretdb"):
        """Run SQL as the cluster's superuser."""
        env = dict(os.environ, PGPASSWORD=self.superuser_password)
        result = subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                 "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
                                 "-d", database, "-c", statements],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr

    # ------------------------------------------------------------ FerretDB
    def start_ferretdb(self):
        # No PG* variables: the connection FerretDB makes for a client that
        # does not sign in must have no credentials to fall back on.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        self.log = open(self.dir / "ferretdb.log", "ab")
        self.ferretdb = subprocess.Popen(
            [self.binary, "--handler=postgresql",
             "--postgresql-url=postgres://127.0.0.1:%d/ferretdb" % self.pg_port,
             "--listen-addr=127.0.0.1:%d" % self.port, "--telemetry=disable",
             "--state-dir=%s" % self.dir, "--debug-addr=-", "--log-level=warn"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while not _listening(self.port):
            assert self.ferretdb.poll() is None, (self.dir / "ferretdb.log").read_text()
            assert time.monotonic() < deadline, "FerretDB is not listening on %d" % self.port
            time.sleep(0.2)

    def stop_ferretdb(self):
        if self.ferretdb is not None:
            self.ferretdb.terminate()
            try:
                self.ferretdb.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.ferretdb.kill()
                self.ferretdb.wait()
            self.ferretdb = None
            self.log.close()

    def start(self):
        self._start_postgres()
        self.start_ferretdb()
        return self

    def stop(self):
        self.stop_ferretdb()
        if (self.dir / "pg" / "postmaster.pid").exists():
            self._as_postgres(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.dir / "pg"),
                              "-m", "fast", "-w", "-t", "60")
        shutil.rmtree(self.dir, ignore_errors=True)

    def uri(self, user=None, password=None):
        """A MongoDB URI signing in as a PostgreSQL role, or not signing in."""
        if user is None:
            return "mongodb://127.0.0.1:%d/" % self.port
        return "mongodb://%s:%s@127.0.0.1:%d/?authMechanism=PLAIN&authSource=$external" % (
            user, password, self.port)

    # ------------------------------------------------------------ roles
    def add_service_role(self, service, password):
        """A role that may sign in and create its own database (schema) once."""
        self.sql('CREATE ROLE "%s" LOGIN PASSWORD \'%s\'; GRANT CREATE ON DATABASE ferretdb TO "%s"'
                 % (service, password, service))

    def seal(self, services):
        """Once each service has created its database: no more databases,
        and every service may read every database's list (see above)."""
        for service in services:
            self.sql('REVOKE CREATE ON DATABASE ferretdb FROM "%s"' % service)
            for other in services:
                if other != service:
                    self.sql('GRANT USAGE ON SCHEMA "%s" TO "%s"; GRANT SELECT ON "%s"."%s" TO "%s"'
                             % (other, service, other, METADATA_TABLE, service))
