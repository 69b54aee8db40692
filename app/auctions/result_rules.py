"""The auction result table: a unit offered at the close (or passed on) is paid, given up or passed
over once; a unit no bidder is left to take is recorded unsold. Pure: no I/O. (Beside
``rules.py``, which the result model's own module imports, so this table cannot live there.)"""

from __future__ import annotations

from app.core.states import StateMachine
from app.models.auctions import ResultStatus as R

# Only an offered unit moves on; every other status is final.
RESULT_STATUS = StateMachine[R](
    "auction result", {**dict.fromkeys(R, frozenset()), R.OFFERED: {R.PAID, R.GIVEN_UP, R.PASSED_OVER}}
)
