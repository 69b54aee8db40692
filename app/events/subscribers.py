"""Imports every module that registers event handlers, so the dispatcher knows them all, and
every module that publishes, so the start-up check (``check_subscriptions``) sees both sides."""

import app.auctions.reactions
import app.catalog.reactions
import app.drops.reactions
import app.events.publishers
import app.orders.reactions
import app.payments.reactions
import app.search.indexer
import app.search.pg_rows  # noqa: F401  (keeps product_search current on PostgreSQL)
