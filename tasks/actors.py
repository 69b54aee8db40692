"""Every actor module, imported so that ``configure_broker`` and the worker see them all."""

import app.events.subscribers  # noqa: F401
import tasks.auctions
import tasks.catalog
import tasks.drops
import tasks.events
import tasks.mail
import tasks.payments
import tasks.popularity  # noqa: F401
