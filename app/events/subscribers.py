"""Imports every module that registers event handlers, so the dispatcher (and the start-up check
of their topics) knows them all."""

import app.auctions.reactions
import app.catalog.reactions
import app.drops.reactions
import app.orders.reactions
import app.payments.reactions
import app.search.indexer  # noqa: F401
