"""`linkage`: the operator's command line.

    linkage run <service>                 start one service (nameko's runner, shared/runner.py)
    linkage token <agency> [--user NAME]  print a bearer token (local use)
    linkage topology [--definitions|--kubernetes]
                                          declare every exchange and queue, or print them
                                          (with each service user's permissions)
    linkage dead-letters list|show|replay inspect and replay dead letters
    linkage keys rotate <service>         re-encrypt the service's stored personal data under
                                          the first key of PERSONAL_DATA_KEYS (shared/rotation.py)
    linkage person export <id_number|-> --reason R --by USER [--wait S]
                                          what the five parties hold about a person, as the
                                          committee's API exports it (audited; printed as JSON)
    linkage trace <id> [--for AGENCY] [--json] [--url URL]
                                          where a returnee's linkage or a case is across the
                                          five parties, and who holds it (the committee's API)
    linkage users add|list|disable|reset-password <agency> [<username>] [--role R] [--password-file F]
                                          an agency's staff accounts (the password from a
                                          prompt or a file, never the command line)
"""
import argparse
import json
import os
import sys
from importlib import resources

from shared import parties
from shared.settings import DEVELOPMENT_SECRET, InsecureConfiguration, Settings

SERVICE_CLASSES = {
    parties.COMMITTEE: "services.neighborhood_committee.service:NeighborhoodCommitteeService",
    parties.POLICE: "services.community_police.service:CommunityPoliceService",
    parties.FLOATING: "services.floating_population_office.service:FloatingPopulationOfficeService",
    parties.PROPERTY: "services.property_company.service:PropertyCompanyService",
    parties.DEVELOPER: "services.developer.service:DeveloperService",
}


def env_settings(service=parties.COMMITTEE):
    config = {key: os.environ.get(key) for key in (
        "AMQP_URI", "MONGO_URI", "DB_PREFIX", "LINKAGE_SECRET", "LINKAGE_ENV", "RETRY_DELAYS_MS",
        "DECLARE_TOPOLOGY", "PERSONAL_DATA_KEYS", "BLIND_INDEX_KEY", "TRANSIT_KEYS",
        "ENCRYPT_PERSONAL_DATA", "DOCUMENT_LOCKS", "LEGAL_HOLD", "PERSONAL_DATA_RETENTION_DAYS")}
    return Settings.from_config(service, config)


def cmd_run(args):
    os.environ.setdefault("HTTP_PORT", str(parties.DEFAULT_PORTS[args.service]))
    os.environ["LINKAGE_SERVICE"] = args.service
    # eventlet's green DNS resolver rejects the keyword arguments pymongo passes
    # to getaddrinfo; must be set before nameko imports eventlet.
    os.environ["EVENTLET_NO_GREENDNS"] = "yes"
    try:
        env_settings(args.service)
    except InsecureConfiguration as exc:
        sys.exit("linkage: refusing to start %s: %s" % (args.service, exc))
    config_path = str(resources.files("shared").joinpath("nameko.yaml"))
    # nameko's service runner, under our own signal handling (shared/runner.py)
    argv = [sys.executable, "-m", "shared.runner", SERVICE_CLASSES[args.service], config_path]
    os.execv(argv[0], argv)


def cmd_token(args):
    from shared.auth import development_key, issue_token
    from shared.roles import roles_of
    secret = os.environ.get("LINKAGE_SECRET") or development_key(DEVELOPMENT_SECRET, args.agency)
    roles = args.role or None
    unknown = sorted(set(roles or ()) - set(roles_of(args.agency)))
    if unknown:
        sys.exit("linkage: %s has no role %s (its roles: %s)" % (
            args.agency, ", ".join(unknown), ", ".join(roles_of(args.agency))))
    print(issue_token(secret, args.agency, args.user, args.ttl, roles=roles))


def without_password(uri):
    """A broker or database URI fit to print: the password masked."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = "%s:***@%s" % (parts.username or "", parts.hostname or "")
    if parts.port:
        netloc += ":%d" % parts.port
    return urlunsplit(parts._replace(netloc=netloc))


KUBERNETES_HEADER = """\
# The broker topology and each service's user, as custom resources of RabbitMQ's
# messaging topology operator. Generated from the event catalogue: do not edit,
# regenerate with
#   linkage topology --kubernetes > k8s/rabbitmq/topology.yaml
# (see shared/kubernetes.py and k8s/README.md).
"""


def cmd_topology(args):
    from shared import topology
    from shared.catalogue import CATALOGUE
    settings = env_settings()
    if args.definitions:
        print(json.dumps(topology.definitions(CATALOGUE, settings.retry_delays_ms), indent=2))
        return
    if args.kubernetes:
        import yaml
        from shared import kubernetes
        print(KUBERNETES_HEADER, end="")
        print(yaml.safe_dump_all(kubernetes.resources(CATALOGUE, settings.retry_delays_ms),
                                 sort_keys=False, explicit_start=True), end="")
        return
    from kombu import Connection
    with Connection(settings.amqp_uri, connect_timeout=5) as connection:
        topology.declare(connection.channel(), CATALOGUE, settings.retry_delays_ms)
    print("declared the topology of %d events on %s" % (len(list(CATALOGUE)),
                                                       without_password(settings.amqp_uri)))


def cmd_dead_letters(args):
    from shared import deadletters
    settings = env_settings()
    owner = None
    if settings.declare_topology == "own":
        if not args.service:
            sys.exit("linkage: with DECLARE_TOPOLOGY=own the broker user reaches its own "
                     "service's dead letters only; name it with --service")
        owner = args.service
    services = [args.service] if args.service else list(parties.ALL)
    if args.action == "list":
        count = 0
        for row in deadletters.browse(settings, services):  # streamed, not all held at once
            print("%-36s %-28s %-18s %-3s %s" % (row["message_id"], row["original_queue"],
                                                row["reason"], row["attempts"], row["error"][:80]))
            count += 1
        print("%d dead letter(s)" % count)
    elif args.action == "show":
        row = next((row for row in deadletters.browse(settings, services)
                    if row["message_id"] == args.message_id), None)
        if row is None:
            sys.exit("linkage: no dead letter %s" % args.message_id)
        print(json.dumps(row, indent=2, default=str, ensure_ascii=False))
    elif args.action == "replay":
        if not args.message_id and not args.all:
            sys.exit("linkage: name a message id, or --all")
        count = deadletters.replay(settings, services, None if args.all else args.message_id,
                                   owner=owner)
        print("replayed %d dead letter(s)" % count)


def cmd_keys(args):
    from pymongo import MongoClient

    from shared import rotation
    from shared.catalogue import CATALOGUE
    from shared.locks import make_locks
    try:
        settings = env_settings(args.service)
    except InsecureConfiguration as exc:
        sys.exit("linkage: %s" % exc)
    keyring = settings.keyring()
    if not keyring.enabled:
        sys.exit("linkage: ENCRYPT_PERSONAL_DATA is off; nothing to rotate to")
    repositories = rotation.repository_classes(rotation.service_class(SERVICE_CLASSES[args.service]))
    client = MongoClient(settings.mongo_uri, tz_aware=True, appname="linkage-keys")
    try:
        db = client[settings.db_name]
        counts = rotation.rotate(db, args.service, repositories, keyring,
                                 make_locks(settings.document_locks, db), CATALOGUE, args.batch)
    finally:
        client.close()
    for name, (read, rewritten) in counts.items():
        print("%-28s %7d read %7d re-encrypted" % (name, read, rewritten))
    print("%s: every personal field is under key %s" % (args.service, keyring.current))


def cmd_person(args):
    import time

    from pymongo import MongoClient

    from shared import rotation
    from shared.audit import AuditLog
    from shared.auth import Principal
    from shared.catalogue import CATALOGUE
    from shared.identity import id_number_problem, mobile_problem
    from shared.metrics import Metrics
    from services.neighborhood_committee.exports import EXPORT, ExportRepository, open_export
    phone = None
    if args.id_number == "-":  # from standard input: kept out of the process list and history
        args.id_number = sys.stdin.readline().strip()
        phone = sys.stdin.readline().strip() or None  # a second line: the phone, for their cases
    problem = id_number_problem(args.id_number) or (phone and mobile_problem(phone))
    if problem:
        sys.exit("linkage: %s %s" % ("id_number" if id_number_problem(args.id_number) else "phone",
                                     problem))
    try:
        settings = env_settings(parties.COMMITTEE)
    except InsecureConfiguration as exc:
        sys.exit("linkage: %s" % exc)
    client = MongoClient(settings.mongo_uri, tz_aware=True, appname="linkage-person")
    try:
        db = client[settings.db_name]
        catalogue = CATALOGUE.with_transit(settings.transit_keyring())
        committee = []
        for cls in rotation.repository_classes(rotation.service_class(SERVICE_CLASSES[parties.COMMITTEE])):
            repository = cls(db, catalogue, parties.COMMITTEE)
            repository.personal = settings.keyring()
            repository.retention_days = settings.personal_data_retention_days
            committee.append(repository)
        exports = next(r for r in committee if isinstance(r, ExportRepository))
        audit_log = AuditLog(db, Metrics(parties.COMMITTEE), parties.COMMITTEE, set())
        by = Principal(agency=parties.COMMITTEE, subject=args.by)
        # Written with its request in the outbox: the committee's relay sends it.
        export_id = open_export([r for r in committee if r.RETAINED], exports, audit_log, by,
                                {"id_number": args.id_number, "phone": phone, "reason": args.reason},
                                "linkage person export", settings.legal_hold or None)
        deadline = time.monotonic() + args.wait
        export = exports.get(export_id)
        while export["status"] != "complete" and time.monotonic() < deadline:
            time.sleep(1)
            export = exports.get(export_id)
    finally:
        client.close()
    print(json.dumps(EXPORT.dump(export), indent=2, ensure_ascii=False))
    if export["status"] != "complete":
        sys.exit("linkage: export %s is still waiting for %s" % (export_id, ", ".join(
            part["party"] for part in export["parties"] if part["status"] == "waiting")))


def cmd_trace(args):
    import requests

    from shared.auth import development_key, issue_token
    secret = os.environ.get("LINKAGE_SECRET") or development_key(DEVELOPMENT_SECRET, parties.COMMITTEE)
    token = issue_token(secret, parties.COMMITTEE, args.user, 300, roles=["desk"])
    params = {"for": args.agency} if args.agency else {}
    try:
        response = requests.get("%s/api/v1/trace/%s" % (args.url.rstrip("/"), args.id), params=params,
                                headers={"Authorization": "Bearer %s" % token}, timeout=60)
    except requests.RequestException as exc:
        sys.exit("linkage: the committee does not answer at %s: %s" % (args.url, exc))
    if response.status_code != 200:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:200]
        sys.exit("linkage: %s %s" % (response.status_code, detail))
    trace = response.json()
    if args.json:
        print(json.dumps(trace, indent=2, ensure_ascii=False))
        return
    for line in trace_lines(trace):
        print(line)


def trace_lines(trace):
    """A trace as a clerk reads it: who holds it, the parties, the timeline."""
    subject = trace["subject"]
    what = (" ".join(str(subject.get(key) or "") for key in ("name", "id_masked", "flat"))
            if trace["kind"] == "returnee" else
            "%s (%s) at %s" % (subject.get("category"), subject.get("priority"), subject.get("location")))
    yield "%s %s: %s, %s" % (trace["kind"], trace["id"], what.strip(), subject.get("status"))
    yield "now: %s" % trace["holding"]["summary"]
    for holder in trace["holding"]["holders"][1:]:
        yield "     also %s (%s) since %s, waiting for %s" % (
            holder["party"], holder["status"], _utc(holder["since"]), holder["waiting_for"])
    yield "parties: %s" % ", ".join("%s %s" % (part["party"], part["status"])
                                    for part in trace["parties"])
    yield "timeline:"
    for step in trace["timeline"]:
        yield "  %s  %-26s %s%s%s" % (_utc(step["at"]), step["party"], step["action"],
                                      " (%s)" % step["by"] if step.get("by") else "",
                                      ": %s" % step["detail"] if step.get("detail") else "")
    for row in trace["dead_letters"]:
        yield "dead letter at %s: %s %s (%s, %s attempt(s)): %s" % (
            row["party"], row["event_type"], row["event_id"], row["reason"], row["attempts"],
            row["error"])


def _utc(iso):
    return (iso or "").replace("+00:00", "Z")


def _password(args):
    import getpass
    if args.password_file:
        with open(args.password_file) as handle:
            return handle.readline().rstrip("\n")
    first = getpass.getpass("password for %s at %s: " % (args.username, args.agency))
    if getpass.getpass("again: ") != first:
        sys.exit("linkage: the passwords differ")
    return first


def cmd_users(args):
    from pymongo import MongoClient
    from shared.roles import roles_of
    from shared.users import AccountError, Accounts
    settings = env_settings(args.agency)
    if args.action != "list" and not args.username:
        sys.exit("linkage: name the user")
    if args.action == "add" and args.role not in roles_of(args.agency):
        sys.exit("linkage: --role must be one of %s" % ", ".join(roles_of(args.agency)))
    with MongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000) as client:
        accounts = Accounts(client[settings.db_name], args.agency)
        try:
            if args.action == "add":
                accounts.add(args.username, args.role, _password(args))
                print("added %s (%s) at %s" % (args.username, args.role, args.agency))
            elif args.action == "list":
                for user in accounts.list():
                    print("%-24s %-16s %s" % (user["_id"], user["role"],
                                              "disabled" if user["disabled"] else "active"))
            elif args.action == "disable":
                accounts.disable(args.username)
                print("disabled %s at %s; its sessions are ended" % (args.username, args.agency))
            else:
                accounts.reset_password(args.username, _password(args))
                print("reset the password of %s at %s" % (args.username, args.agency))
        except AccountError as exc:
            sys.exit("linkage: %s" % exc)


def parser():
    root = argparse.ArgumentParser(prog="linkage", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start a service")
    run.add_argument("service", choices=parties.ALL)
    run.set_defaults(func=cmd_run)
    token = sub.add_parser("token", help="print a bearer token")
    token.add_argument("agency", choices=parties.ALL)
    token.add_argument("--user", default="staff")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds")
    token.add_argument("--role", action="append",
                       help="a role the token carries (repeatable; default: every role of the agency)")
    token.set_defaults(func=cmd_token)
    topo = sub.add_parser("topology", help="declare or print the broker topology")
    printed = topo.add_mutually_exclusive_group()
    printed.add_argument("--definitions", action="store_true", help="print RabbitMQ definitions JSON")
    printed.add_argument("--kubernetes", action="store_true",
                         help="print the messaging topology operator's custom resources (YAML)")
    topo.set_defaults(func=cmd_topology)
    dead = sub.add_parser("dead-letters", help="list, show or replay dead letters")
    dead.add_argument("action", choices=["list", "show", "replay"])
    dead.add_argument("message_id", nargs="?")
    dead.add_argument("--service", choices=parties.ALL)
    dead.add_argument("--all", action="store_true", help="with replay: every dead letter")
    dead.set_defaults(func=cmd_dead_letters)
    keys = sub.add_parser("keys", help="re-encrypt stored personal data under the current key")
    keys.add_argument("action", choices=["rotate"])
    keys.add_argument("service", choices=parties.ALL)
    keys.add_argument("--batch", type=int, default=200, help="documents read per batch")
    keys.set_defaults(func=cmd_keys)
    person = sub.add_parser("person", help="what the five parties hold about a person")
    person.add_argument("action", choices=["export"])
    person.add_argument("id_number", help="the person's ID number, or - to read it from standard "
                        "input (and, on a second line, their phone: the cases they reported too)")
    person.add_argument("--reason", required=True, help="why the export is made (audited)")
    person.add_argument("--by", required=True, help="who asks: the committee user it is audited as")
    person.add_argument("--wait", type=float, default=120,
                        help="seconds to wait for every party's answer")
    person.set_defaults(func=cmd_person)
    trace = sub.add_parser("trace", help="where a linkage or case is across the five parties")
    trace.add_argument("id", help="a returnee's id (its linkage) or a case's id")
    trace.add_argument("--for", dest="agency", choices=parties.LINKED,
                       help="the agency it is handed to: the person's name is shortened")
    trace.add_argument("--json", action="store_true", help="print the API's JSON")
    trace.add_argument("--url", default=os.environ.get("COMMITTEE_URL", "http://127.0.0.1:8001"),
                       help="the committee's API (default $COMMITTEE_URL or http://127.0.0.1:8001)")
    trace.add_argument("--user", default="linkage-cli",
                       help="the committee user the request is made as")
    trace.set_defaults(func=cmd_trace)
    users = sub.add_parser("users", help="an agency's staff accounts")
    users.add_argument("action", choices=["add", "list", "disable", "reset-password"])
    users.add_argument("agency", choices=parties.ALL)
    users.add_argument("username", nargs="?")
    users.add_argument("--role", help="with add: the user's role in the agency")
    users.add_argument("--password-file", help="read the password from this file's first line")
    users.set_defaults(func=cmd_users)
    return root


def main(argv=None):
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
