"""Worker entry point: ``dramatiq tasks.worker`` (see the Procfile)."""

from app.settings import Settings
from tasks.broker import configure_broker
from tasks.runtime import init_runtime

settings = Settings.from_env()
handle = configure_broker(settings)
init_runtime(settings)
broker = handle.broker
