"""`linkage run <service>`: one service in this process, as `nameko run`
would run it, with the shutdown `nameko run` gets wrong.

`nameko run` stops on SIGTERM from a signal handler and on SIGINT from its
main loop, each on its own: a second signal, or one of each (a terminal's
Ctrl-C and then a supervisor's TERM), stops the container twice at once,
and a timer's second stop raised and left the process running for good.
Here the first signal (TERM or INT) starts one graceful stop; a second one
kills the container's workers; and a process still not down STOP_SECONDS
after the first signal exits anyway, saying so.
"""
import errno
import logging
import logging.config
import os
import signal
import sys

STOP_SECONDS = 10.0

log = logging.getLogger("shared.runner")


def load_config(path):
    import yaml
    from nameko.cli.main import setup_yaml_parser
    setup_yaml_parser()  # ${VAR:default} from the environment, as `nameko run` reads it
    with open(path) as handle:
        return yaml.safe_load(handle)


def service_class(path):
    module, name = path.split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def run(service_path, config_path):
    import eventlet
    eventlet.monkey_patch()
    from nameko.runners import ServiceRunner

    config = load_config(config_path)
    logging.config.dictConfig(config["LOGGING"])
    runner = ServiceRunner(config)
    runner.add_service(service_class(service_path))
    signals = []

    def on_signal(signum, frame):
        # Signal handlers run in the hub's loop: hand the work to green threads.
        signals.append(signum)
        if len(signals) == 1:
            log.info("stopping on %s", signal.Signals(signum).name)
            eventlet.spawn_n(runner.stop)
            eventlet.spawn_after(STOP_SECONDS, give_up)
        elif len(signals) == 2:
            log.warning("second signal (%s): killing the workers", signal.Signals(signum).name)
            eventlet.spawn_n(runner.kill)

    def give_up():
        log.error("not stopped %ss after the signal; exiting anyway", STOP_SECONDS)
        logging.shutdown()
        os._exit(1)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
            return 0
        except OSError as exc:
            if exc.errno != errno.EINTR:  # a signal interrupted the wait: wait again
                raise


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.exit("usage: python -m shared.runner <module:ServiceClass> <nameko.yaml>")
    sys.exit(run(*argv))


if __name__ == "__main__":
    main()
