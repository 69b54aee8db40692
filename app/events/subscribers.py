"""Imports every module that registers event handlers, so the dispatcher knows them all."""

import app.auctions.reactions
import app.catalog.reactions
import app.drops.reactions
import app.payments.reactions
import app.search.indexer  # noqa: F401
