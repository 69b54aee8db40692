"""``GET /proof/challenge``: a fresh proof-of-work challenge for the widget (``app/web/proof.py``).

JSON, never cached (each is good once), and read without the session or the member: it names
nobody and costs the shop one hash."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.response import Response

from app.web.params import AppServices

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@get("/proof/challenge", name="proof_challenge", skip_session=True, opt={"loads_member": False})
async def proof_challenge(services: AppServices) -> Response[dict[str, Any]]:
    return Response(content=services.proofs.challenge(), media_type="application/json", headers=NO_STORE)
