"""Choices shared by configuration, engine and web: which side of an integration, which way."""

from __future__ import annotations

from django.db import models


class Side(models.TextChoices):
    HUBSPOT = "hubspot", "HubSpot"
    OTHER = "other", "Other system"


def other_side(side: str) -> str:
    """The side opposite `side`."""
    return Side.OTHER if side == Side.HUBSPOT else Side.HUBSPOT


class Direction(models.TextChoices):
    BOTH = "both", "Both ways"
    TO_OTHER = "to_other", "HubSpot → other system"
    TO_HUBSPOT = "to_hubspot", "Other system → HubSpot"

    @classmethod
    def flows(cls, direction: str) -> list[str]:
        """The one-way flows a direction allows, as the target side (a Side value) of each flow."""
        return {cls.BOTH: [Side.OTHER, Side.HUBSPOT], cls.TO_OTHER: [Side.OTHER], cls.TO_HUBSPOT: [Side.HUBSPOT]}[direction]
