"""Automations: rules that turn outbox events into webhook calls or built-in actions, and their deliveries.

An event (``treatment_plan.assigned``, ...) is written in the transaction of the change that causes it; the
dispatcher makes one delivery per enabled rule of the organization that matches the event's type and
delivers it at least once, in order per enrollment, with retries and backoff. See docs/automations.md.
"""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import IntId, Page, Timestamp, Url

_NonNegative = Annotated[int, Meta(ge=0)]
_Positive = Annotated[int, Meta(ge=1)]


class AutomationEvent(StrEnum):
    """Every event the product writes to the outbox."""

    TREATMENT_PLAN_ASSIGNED = "treatment_plan.assigned"
    TREATMENT_PLAN_ACTIVATED = "treatment_plan.activated"
    TREATMENT_PLAN_SESSION_COMPLETED = "treatment_plan.session_completed"
    TREATMENT_PLAN_COMPLETED = "treatment_plan.completed"
    TREATMENT_PLAN_EXPIRED = "treatment_plan.expired"
    ADHERENCE_BELOW_THRESHOLD = "adherence.below_threshold"
    PAIN_ALERT = "pain.alert"
    FORM_SUBMITTED = "form.submitted"


class AutomationAction(StrEnum):
    WEBHOOK = "webhook"
    """POST the event as JSON to ``webhook_url``, signed with the rule's secret (Standard Webhooks)."""
    REQUIRE_FORM = "require_form"
    """Give the event's patient a pending instance of ``form_template_id`` (e.g. the biometric consent form)."""


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"
    """Its rule was disabled or deleted before the delivery succeeded or died."""


class AutomationRuleCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A rule: a webhook needs ``webhook_url`` (https), ``require_form`` needs ``form_template_id``."""

    event_type: AutomationEvent
    action: AutomationAction
    webhook_url: Url | None = None
    form_template_id: IntId | None = None
    enabled: bool = True


class AutomationRuleUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool


class AutomationRule(msgspec.Struct, frozen=True, kw_only=True):
    id: IntId
    event_type: AutomationEvent
    action: AutomationAction
    webhook_url: str | None
    form_template_id: IntId | None
    enabled: bool
    created_at: Timestamp


class AutomationRuleCreated(AutomationRule, frozen=True, kw_only=True):
    """The new rule, with the webhook signing secret: shown once, never again (``null`` for built-ins)."""

    signing_secret: str | None


class AutomationRuleList(msgspec.Struct, frozen=True, kw_only=True):
    rules: list[AutomationRule]


class AutomationDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event delivered (or being delivered) to one rule."""

    id: IntId
    event_id: IntId
    event_type: str
    entity_type: str
    entity_id: str
    rule_id: IntId
    action: AutomationAction
    status: DeliveryStatus
    attempts: _NonNegative
    next_attempt_at: Timestamp | None
    """When the next attempt is due (pending only)."""
    last_status_code: int | None
    """The webhook's last HTTP status; ``null`` for built-ins and network failures."""
    last_error: str | None
    """Why the last attempt failed, as a category: ``timeout``, ``connection refused``, ``TLS error``,
    ``connection failed``, ``network error``, ``HTTP <status>``, ``name not resolved``, ``destination not
    allowed``, ``URL not allowed``, ``attempt interrupted``, ``the event names no patient`` or ``internal
    error`` (see docs/automations.md)."""
    delivered_at: Timestamp | None
    event_created_at: Timestamp
    created_at: Timestamp


class AutomationDeliveryList(msgspec.Struct, frozen=True, kw_only=True):
    deliveries: list[AutomationDelivery]
    total: _NonNegative
    page: Page
    limit: _Positive
    total_pages: _NonNegative
