"""Worker entry point: ``dramatiq tasks.worker`` (see the Procfile)."""

from app.live.hub import set_hubs, worker_hubs
from app.settings import Settings
from tasks import runtime
from tasks.broker import configure_broker
from tasks.runtime import init_runtime

settings = Settings.from_env()
handle = configure_broker(settings)
init_runtime(settings)
if settings.redis_url:
    set_hubs(worker_hubs(settings.redis_url, runtime.database))
broker = handle.broker
