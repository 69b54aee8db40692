"""Gateway errors, each with the gateway's code and message and a sentence a shopper can read."""

from __future__ import annotations

from app.core.i18n import N_

_DECLINED = N_("Your card was declined. Nothing was charged; try another card or contact your card issuer.")
_INVALID_CARD = N_("The card details were not accepted. Nothing was charged; check the card or use another one.")
_TRY_LATER = N_("The payment service had a temporary problem. Nothing was charged; please try again in a few minutes.")
_SETUP = N_("Payments are not available right now because of a problem on our side. Nothing was charged.")

USER_MESSAGES: dict[str, str] = {
    "REJECT_CARD_PAYMENT": _DECLINED,
    "REJECT_CARD_COMPANY": _DECLINED,
    "INVALID_REJECT_CARD": _DECLINED,
    "REJECT_ACCOUNT_PAYMENT": N_("The payment failed because there are not enough funds. Nothing was charged."),
    "NOT_ENOUGH_BALANCE": N_("The payment failed because there are not enough funds. Nothing was charged."),
    "EXCEED_MAX_CARD_LIMIT": N_("This payment is over your card's limit. Nothing was charged; try another card."),
    "INVALID_CARD_NUMBER": _INVALID_CARD,
    "INVALID_CARD_EXPIRATION": _INVALID_CARD,
    "INVALID_STOPPED_CARD": N_("This card has been stopped. Nothing was charged; please use another card."),
    "INVALID_CARD_LOST_OR_STOLEN": N_("This card was reported lost or stolen. Nothing was charged."),
    "ALREADY_PROCESSED_PAYMENT": N_("This payment has already been processed."),
    "DUPLICATED_ORDER_ID": N_("This order has already been paid."),
    "NOT_FOUND_PAYMENT": N_("We could not find this payment. If you were charged, contact us and we will sort it out."),
    "NOT_FOUND_PAYMENT_SESSION": N_("The payment window expired before the payment was completed. Please start again."),
    "AMOUNT_MISMATCH": N_("The amount to pay did not match your order. Nothing was charged; please start again."),
    "INVALID_REQUEST": N_("The payment request was not valid. Nothing was charged; please start again."),
    "NOT_CANCELABLE_AMOUNT": N_("That amount cannot be refunded: it is more than what is left on the payment."),
    "NOT_CANCELABLE_PAYMENT": N_("This payment cannot be cancelled."),
    "ALREADY_CANCELED_PAYMENT": N_("This payment has already been cancelled."),
    "PAY_PROCESS_CANCELED": N_("You cancelled the payment. Nothing was charged."),
    "PAY_PROCESS_ABORTED": N_("The payment was stopped before it completed. Nothing was charged."),
    "UNAUTHORIZED_KEY": _SETUP,
    "INVALID_API_KEY": _SETUP,
    "FORBIDDEN_REQUEST": _SETUP,
    "INVALID_IDEMPOTENCY_KEY": _SETUP,
    "IDEMPOTENT_REQUEST_PROCESSING": N_("Your payment is still being processed. Please wait a moment and check again."),
    "PROVIDER_ERROR": _TRY_LATER,
    "FAILED_CARD_COMPANY_RESPONSE": _TRY_LATER,
    "FAILED_INTERNAL_SYSTEM_PROCESSING": _TRY_LATER,
    "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING": _TRY_LATER,
    "UNKNOWN_PAYMENT_ERROR": _TRY_LATER,
    "GATEWAY_TIMEOUT": N_("The payment service did not answer in time. Nothing was charged; please try again."),
    "GATEWAY_UNAVAILABLE": _TRY_LATER,
    "NOT_APPROVED": N_("The payment was not approved. You were not charged."),
}
GENERIC_MESSAGE = N_("The payment could not be completed. Nothing was charged; please try again.")


def user_message_for(code: str) -> str:
    """The shopper's sentence for a gateway code; a generic one for codes we do not know. In
    English, as it is kept on the payment: the page that shows it translates it (``_``)."""
    return USER_MESSAGES.get(code, GENERIC_MESSAGE)


class GatewayError(Exception):
    """The gateway refused a call (``code``/``message`` as it sent them), or could not be asked."""

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (HTTP {http_status})" if http_status else ""))
        self.code = code
        self.message = message
        self.http_status = http_status

    @property
    def user_message(self) -> str:
        return user_message_for(self.code)


class GatewayTimeout(GatewayError):
    """No answer in time, and the gateway shows no approval for the payment."""

    def __init__(self, message: str = "The gateway did not answer in time.", http_status: int | None = None) -> None:
        super().__init__("GATEWAY_TIMEOUT", message, http_status)


class GatewayUnavailable(GatewayError):
    """The gateway answered 5xx, could not be reached, or its answer could not be read."""

    def __init__(
        self, message: str = "The gateway is unavailable.", http_status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(code or "GATEWAY_UNAVAILABLE", message, http_status)
