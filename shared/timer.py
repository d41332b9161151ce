"""A periodic entrypoint whose interval comes from the service's settings,
and that may be stopped more than once; and a dependency provider's
periodic pass in the background."""
import logging

import eventlet.event
from nameko.timer import Timer

log = logging.getLogger(__name__)


class SettingsTimer(Timer):
    def __init__(self, setting, **kwargs):
        self.setting = setting
        super().__init__(interval=1.0, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.setting) or 15)
        super().setup()

    def stop(self):
        # nameko's stop() sends its stop event unguarded: a second SIGTERM
        # (or SIGINT then SIGTERM) stopped the container twice, the second
        # send() raised, and the process never exited.
        if not self.should_stop.ready():
            self.should_stop.send(True)
        if self.gt is not None:
            self.gt.wait()


every = SettingsTimer.decorator


class BackgroundPass:
    """`run()` every `seconds` in a thread the container manages (first at
    once when `immediately`), for a dependency provider's own upkeep; a pass
    that raises is logged and tried again next time."""

    def __init__(self, run, seconds, identifier, immediately=False):
        self.run, self.seconds, self.identifier = run, seconds, identifier
        self.immediately = immediately
        self._stopped = eventlet.event.Event()
        self._thread = None

    @property
    def stopping(self):
        return self._stopped.ready()

    def start(self, container):
        self._thread = container.spawn_managed_thread(self._loop, identifier=self.identifier)

    def stop(self):
        if self._thread is not None:
            if not self._stopped.ready():
                self._stopped.send(True)
            self._thread.wait()
            self._thread = None

    def kill(self):
        if self._thread is not None:
            self._thread.kill()
            self._thread = None

    def _loop(self):
        if not self.immediately and self._stopped.wait(timeout=self.seconds):
            return
        while True:
            try:
                self.run()
            except Exception:
                log.warning("%s failed; trying again in %ss", self.identifier, self.seconds,
                            exc_info=True)
            if self._stopped.wait(timeout=self.seconds):
                return
