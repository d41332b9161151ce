"""A periodic entrypoint whose interval comes from the service's settings."""
from nameko.timer import Timer


class SettingsTimer(Timer):
    def __init__(self, setting, **kwargs):
        self.setting = setting
        super().__init__(interval=1.0, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.setting) or 15)
        super().setup()


every = SettingsTimer.decorator
