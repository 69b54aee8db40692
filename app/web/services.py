"""The services of one app, built once at start-up and handed to every controller.

``build_services(state)`` reads what ``create_app`` put in the app's state (settings, database,
live hubs, streams) and builds the long-lived services from it: the drop press service with its
gate, the bid service, the gateway client factory. A controller asks for them with a
``services: NamedDependency[Services]`` parameter (``provide_services``); it never builds a
service of its own or reads the app's state. Services bound to one request's session
(``SellerService(db)`` and the query modules) take the request's ``db`` instead."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from litestar import Request
from litestar.datastructures import State

from app.drops.gate import Gate, gate_for

T = TypeVar("T")

if TYPE_CHECKING:
    from app.accounts.passwords import PasswordHasher
    from app.accounts.throttle import LoginThrottle
    from app.admin.ops import OpsSources
    from app.catalog.popularity import ViewCounter
    from app.db import Database
    from app.drops.service import DropService
    from app.gateway.client import GatewayClient
    from app.live.hub import LiveHub
    from app.live.streams import LiveStreams
    from app.payments.audit import ExchangeLog
    from app.settings import Settings
    from app.web.proof import Proofs


class InState(Generic[T]):
    """An attribute of :class:`Services` that is the app state's value of the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name

    def __get__(self, services: Services, owner: type | None = None) -> T:
        value: T = services._state[self.key]
        return value


class Services:
    """What controllers call, one instance per app."""

    # What ``create_app`` put in the app's state, read on every use (a test may replace it).
    settings: InState[Settings] = InState()
    hasher: InState[PasswordHasher] = InState()
    login_throttle: InState[LoginThrottle] = InState()
    proofs: InState[Proofs] = InState()  # the proof of work (or of time) before a line's join or a draw's entry
    views: InState[ViewCounter] = InState()  # product page views counted in this process until the next flush

    def __init__(self, state: State) -> None:
        from app.auctions.bidding import BidService
        from app.auctions.controllers import after_batch

        self._state = state
        self._drops: tuple[Settings, Gate, DropService] | None = None
        self.drop_service: type[DropService] | None = None  # another press service (the naive benchmark's)
        self.database: Database = state["database"]
        self.hubs: Mapping[str, LiveHub] = state["hubs"]
        self.streams: LiveStreams = state["streams"]
        settings: Settings = state["settings"]
        after = partial(after_batch, scheduler=self.database.scheduler)  # a pushed-back end moves the close
        self.bids = BidService(self.database, settings.auction_extend_seconds, after_batch=after)

    @property
    def gate(self) -> Gate:
        """The drop gate of the running loop (a Redis gate's connections belong to one loop)."""
        return gate_for(self.settings)

    @property
    def drops(self) -> DropService:
        """Made on first use, on the loop that serves the requests (its press queues and its
        gate live there), and kept while the settings and the gate stay the same."""
        from app.drops.service import DropService

        settings, gate = self.settings, self.gate
        if self._drops is None or self._drops[0] is not settings or self._drops[1] is not gate:
            kind = self.drop_service or DropService
            self._drops = (settings, gate, kind(self.database, gate, settings.purchase_hold_seconds))
        return self._drops[2]

    @property
    def ops(self) -> OpsSources:
        """What the operations page reads besides the database (on the running loop)."""
        from app.admin.ops import OpsSources
        from app.admin.ops_heartbeats import heartbeats_for
        from app.drops.telemetry import telemetry_for

        return OpsSources(telemetry_for(self.settings), heartbeats_for(self.settings), self._state["broker"])

    def gateway(self, exchanges: ExchangeLog) -> GatewayClient:
        """A client for the payment gateway that records every exchange in ``exchanges``; the
        caller closes it. ``state.gateway_transport`` (tests) routes it to an in-process gateway."""
        from app.gateway.client import make_gateway_client

        transport = self._state.get("gateway_transport")
        return make_gateway_client(self.settings, transport=transport, on_exchange=exchanges)


def build_services(state: State) -> Services:
    return Services(state)


def provide_services(request: Request[Any, Any, Any]) -> Services:
    """Litestar dependency: ``services: NamedDependency[Services]`` in a handler signature."""
    services: Services = request.app.state.services
    return services
