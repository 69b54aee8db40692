"""Pure rules for seller applications. No I/O."""

from __future__ import annotations

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
LABELS = {"business_name": "Business name", "contact": "Contact", "description": "Description"}


def application_errors(business_name: str, contact: str, description: str) -> dict[str, str]:
    values = {"business_name": business_name, "contact": contact, "description": description}
    errors: dict[str, str] = {}
    for name, value in values.items():
        low, high = LIMITS[name]
        if not value:
            errors[name] = f"Enter your {LABELS[name].lower()}."
        elif len(value) < low:
            errors[name] = f"{LABELS[name]} needs at least {low} characters."
        elif len(value) > high:
            errors[name] = f"{LABELS[name]} has at most {high} characters."
    return errors
