"""Worker entry point: ``dramatiq tasks.worker`` (see the Procfile)."""

from app.live.hub import set_hub, worker_hub
from app.settings import Settings
from tasks import runtime
from tasks.broker import configure_broker
from tasks.runtime import init_runtime

settings = Settings.from_env()
handle = configure_broker(settings)
init_runtime(settings)
if settings.redis_url:
    set_hub(worker_hub(settings.redis_url, runtime.database))
broker = handle.broker
