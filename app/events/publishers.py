"""Imports every module that records events (and every module that registers an aggregate with
the status core), so the topics they declare (``publishes``) and the aggregates are known to the
start-up check before any of their code runs. A module that starts recording a topic is
listed here; a topic recorded by a module missing here fails the check loudly, never silently."""

import app.accounts.service
import app.auctions.bidding
import app.auctions.service
import app.catalog.transitions
import app.drops.draw_making
import app.drops.service
import app.drops.stock
import app.orders.service
import app.payments.refunds
import app.payments.service
import app.sellers.service  # noqa: F401
