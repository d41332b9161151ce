"""Running the bare kombu + pymongo ceiling (bench/ceiling.py) as five
processes in a vhost and database prefix of its own, and measuring it the
same way as the platform: dispatch latency, throughput, CPU per registration."""
import json
import os
import subprocess
import sys
import uuid

from pymongo import MongoClient

from bench import probes
from bench.stats import summary
from shared.parties import LINKED
from tests.system import AMQP_BASE, MONGO_URI


class CeilingBench:
    def __init__(self, threads=4, partitions=4, drain_timeout=90.0, log=print):
        self.vhost = "bench-ceiling-%s" % uuid.uuid4().hex[:8]
        self.db_prefix = "c%s_" % uuid.uuid4().hex[:8]
        self.amqp_uri = "%s/%s" % (AMQP_BASE, self.vhost)
        self.threads = threads
        self.partitions = partitions
        self.drain_timeout = drain_timeout
        self.log = log
        self.parties = {}
        self.client = None
        self.steps_run = 0

    def _args(self):
        return ["--amqp", self.amqp_uri, "--mongo", MONGO_URI, "--db-prefix", self.db_prefix,
                "--threads", str(self.threads), "--partitions", str(self.partitions)]

    def _command(self, *args):
        return [sys.executable, "-m", "bench.ceiling"] + list(args) + self._args()

    def start(self):
        probes.create_vhost(self.vhost)
        self.client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
        subprocess.run(self._command("declare"), check=True, env=self._env())
        for party in LINKED:
            process = subprocess.Popen(self._command("party", "--party", party), env=self._env(),
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("ceiling party %s did not start" % party)
            self.parties[party] = process

    def _env(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        return env

    def stop(self):
        for process in self.parties.values():
            process.terminate()
        for process in self.parties.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.parties.clear()
        probes.delete_vhost(self.vhost)
        if self.client is not None:
            for name in self.client.list_database_names():
                if name.startswith(self.db_prefix):
                    self.client.drop_database(name)
            self.client.close()

    def step(self, rate, duration):
        run_id = "s%d" % self.steps_run
        self.steps_run += 1
        committee = subprocess.Popen(
            self._command("committee", "--rate", str(rate), "--duration", str(duration),
                          "--drain-timeout", str(self.drain_timeout), "--run-id", run_id),
            env=self._env(), stdout=subprocess.PIPE, text=True)
        pids = {"committee": committee.pid}
        pids.update({party: process.pid for party, process in self.parties.items()})
        pids["rabbitmq"] = probes.pid_listening_on(probes.uri_port(AMQP_BASE, 5672))
        pids["ferretdb"] = probes.pid_listening_on(probes.uri_port(MONGO_URI, 27017))
        pids["postgres"] = probes.pids_named("postgres")
        cpu = probes.CpuMeter(pids)
        cpu.mark("start")
        # The committee's own CPU is read just before it exits (its /proc entry goes then).
        output, _ = committee.communicate()
        cpu.mark("end")
        result = json.loads(output.strip().splitlines()[-1])
        self.log("  ceiling %g/s: %d of %d dispatched" % (rate, result["dispatched"], result["total"]))

        documents = list(self.client[self.db_prefix + "committee"].registrations.find(
            {}, {"created_at": 1, "dispatched_at": 1}))
        documents = [d for d in documents if d["_id"].startswith(run_id + "-")]
        latency = [(d["dispatched_at"] - d["created_at"]).total_seconds()
                   for d in documents if d.get("dispatched_at")]
        first = min((d["created_at"].timestamp() for d in documents), default=result["started_wall"])
        last = max((d["dispatched_at"].timestamp() for d in documents if d.get("dispatched_at")),
                   default=first)
        usage = cpu.between("start", "end")
        usage["cpu_seconds"]["committee"] = round(result["cpu_seconds"], 3)
        usage["other_processes_seconds"] = round(usage["other_processes_seconds"]
                                                 - result["cpu_seconds"], 3)
        party_records = {party: self.client[self.db_prefix + party].records.count_documents(
            {"_id": {"$regex": "^%s-" % run_id}}) for party in LINKED}
        dispatched = len(latency)
        return {
            "rate": rate, "duration": duration, "offered": result["total"],
            "offered_per_second": result["total"] / duration,
            "produced_per_second": result["total"] / max(result["produced_wall"] - result["started_wall"], 1e-9),
            "dispatched": dispatched,
            "dispatched_per_second": dispatched / max(last - first, 1e-9),
            "drained": dispatched >= result["total"] - result["errors"],
            "errors": result["errors"],
            "send_lateness": summary(result["lateness"]),
            "dispatch_latency": summary(latency),
            "ledger": {party: {"expected": result["total"], "lost": result["total"] - count}
                       for party, count in party_records.items()},
            "replies": result["replies"],
            "cpu": {"step": usage,
                    "per_registration": {name: seconds / max(result["total"], 1)
                                         for name, seconds in usage["cpu_seconds"].items()}},
        }
