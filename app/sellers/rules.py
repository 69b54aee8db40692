"""Pure rules for seller applications. No I/O."""

from __future__ import annotations

from app.core.i18n import Msg, _
from app.core.states import StateMachine
from app.models.members import ApplicationStatus

APPLICATION_STATUS = StateMachine[ApplicationStatus](
    "seller application",
    {
        ApplicationStatus.PENDING: {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED},
        ApplicationStatus.APPROVED: set(),
        ApplicationStatus.REJECTED: set(),
    },
)

LIMITS = {"business_name": (2, 100), "contact": (3, 200), "description": (10, 2000)}
LABELS = {"business_name": Msg("Business name"), "contact": Msg("Contact"), "description": Msg("Description")}


def application_errors(business_name: str, contact: str, description: str) -> dict[str, str]:
    values = {"business_name": business_name, "contact": contact, "description": description}
    errors: dict[str, str] = {}
    for name, value in values.items():
        low, high = LIMITS[name]
        if not value:
            errors[name] = _("Enter your %(what)s.", what=str(LABELS[name]).lower())
        elif len(value) < low:
            errors[name] = _("%(what)s needs at least %(least)s characters.", what=str(LABELS[name]), least=low)
        elif len(value) > high:
            errors[name] = _("%(what)s has at most %(most)s characters.", what=str(LABELS[name]), most=high)
    return errors
