"""A periodic entrypoint whose interval comes from the service's settings,
and that may be stopped more than once."""
from nameko.timer import Timer


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
