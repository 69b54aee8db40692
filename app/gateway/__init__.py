"""Payment gateway client (TossPayments-style v1 API) and the local sandbox gateway."""

from app.gateway.client import Exchange, GatewayCancel, GatewayClient, GatewayPayment, make_gateway_client
from app.gateway.errors import GatewayError, GatewayTimeout, GatewayUnavailable

__all__ = [
    "Exchange",
    "GatewayCancel",
    "GatewayClient",
    "GatewayError",
    "GatewayPayment",
    "GatewayTimeout",
    "GatewayUnavailable",
    "make_gateway_client",
]
