"""The app's ``Scheduler`` (``app.core.scheduling``) on Dramatiq: each kind of deferred work is a
message to its actor, delayed until its time."""

from __future__ import annotations

from datetime import datetime

from app.drops.gate import gate_for
from app.drops.reconcile import reconcile_product
from tasks import runtime
from tasks.auctions import schedule_close, schedule_offer_expiry
from tasks.catalog import schedule_opening
from tasks.drops import schedule_draw, schedule_expiry
from tasks.events import enqueue_event
from tasks.mail import mail_reset_link, send_mail
from tasks.payments import perform_refund


class DramatiqScheduler:
    def expire_right(self, right_id: int, at: datetime) -> None:
        schedule_expiry(right_id, at)

    def open_sale(self, product_id: int, at: datetime) -> None:
        schedule_opening(product_id, at)

    def close_auction(self, auction_id: int, at: datetime) -> None:
        schedule_close(auction_id, at)

    def make_draw(self, product_id: int, at: datetime) -> None:
        schedule_draw(product_id, at)

    def expire_offer(self, order_id: int, at: datetime) -> None:
        schedule_offer_expiry(order_id, at)

    def send_refund(self, refund_id: int) -> None:
        perform_refund.send(refund_id)

    def enqueue_event(self, event_id: str, topic: str) -> None:
        enqueue_event(event_id, topic)

    def send_mail(self, mail_id: int) -> None:
        send_mail.send(mail_id)

    def send_password_reset(self, email: str, language: str | None = None) -> None:
        mail_reset_link.send(email, language)

    async def refresh_gate(self, product_id: int) -> None:
        """Not a message: the gate is rebuilt at once, on the loop that asked (after its commit)."""
        await reconcile_product(runtime.database(), gate_for(runtime.settings()), product_id)
