"""Automations: rules that turn outbox events into webhook calls or built-in actions, and their deliveries.

An event (``treatment_plan.assigned``, ...) is written in the transaction of the change that causes it; the
dispatcher makes one delivery per enabled rule of the organization that matches the event's type and
delivers it at least once, in order per enrollment, with retries and backoff. See docs/automations.md.
"""

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.paging import PageInfo
from contracts.types import IntId, NonNegativeInt, Timestamp, Url


class AutomationEvent(StrEnum):
    """Every event the product writes to the outbox.

    - ``treatment_plan.assigned``: a patient was enrolled in a treatment plan.
    - ``treatment_plan.activated``: an enrollment became active.
    - ``treatment_plan.session_completed``: the patient completed a session.
    - ``treatment_plan.completed``: an enrollment was completed.
    - ``treatment_plan.expired``: an enrollment's end date passed before it was completed.
    - ``adherence.below_threshold``: a week's adherence fell below the organization's threshold, with a missed
      session.
    - ``pain.alert``: a completed session's pain after it was 7 or more, or 2 above the previous session's.
    - ``adherence.evidence_contradicted``: telemetry's measurements contradicted a completed session of the
      week (the video reported watched was not, or the repetitions counted differ from those reported).
    - ``form.submitted``: a patient submitted a form.

    See docs/automations.md and docs/adherence.md.
    """

    TREATMENT_PLAN_ASSIGNED = "treatment_plan.assigned"
    TREATMENT_PLAN_ACTIVATED = "treatment_plan.activated"
    TREATMENT_PLAN_SESSION_COMPLETED = "treatment_plan.session_completed"
    TREATMENT_PLAN_COMPLETED = "treatment_plan.completed"
    TREATMENT_PLAN_EXPIRED = "treatment_plan.expired"
    ADHERENCE_BELOW_THRESHOLD = "adherence.below_threshold"
    PAIN_ALERT = "pain.alert"
    ADHERENCE_EVIDENCE_CONTRADICTED = "adherence.evidence_contradicted"
    FORM_SUBMITTED = "form.submitted"


class AutomationAction(StrEnum):
    """What a rule does with a matching event.

    - ``webhook``: POST the event as JSON to ``webhook_url``, signed with the rule's secret (Standard Webhooks).
    - ``require_form``: give the event's patient a pending instance of ``form_template_id`` (e.g. the
      biometric consent form).
    """

    WEBHOOK = "webhook"
    REQUIRE_FORM = "require_form"


class DeliveryStatus(StrEnum):
    """Where a delivery stands.

    - ``pending``: not delivered yet; tried again with backoff until it succeeds or runs out of attempts.
    - ``delivered``: the webhook answered 2xx, or the built-in action was done.
    - ``dead``: every attempt failed (or the destination is refused); an admin may retry it.
    - ``cancelled``: its rule was disabled or deleted before the delivery succeeded or died.
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"


RuleEnabled = Annotated[bool, Meta(description="Whether the rule acts on new events.")]


class AutomationRuleCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A rule: a webhook needs ``webhook_url`` (https), ``require_form`` needs ``form_template_id``."""

    event_type: Annotated[AutomationEvent, Meta(description="The event that triggers the rule (see AutomationEvent).")]
    action: Annotated[
        AutomationAction,
        Meta(description="What the rule does: `webhook` or `require_form` (see AutomationAction)."),
    ]
    webhook_url: Annotated[
        Url | None,
        Meta(description="The https URL to POST the event to; required for `webhook`, null otherwise."),
    ] = None
    form_template_id: Annotated[
        IntId | None,
        Meta(description="The form template to give the patient; required for `require_form`, null otherwise."),
    ] = None
    enabled: RuleEnabled = True


class AutomationRuleUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /v1/automation/rules/{id}``: enable or disable a rule."""

    enabled: Annotated[
        bool,
        Meta(description="Whether the rule acts on new events; disabling it cancels its pending deliveries."),
    ]


class AutomationRule(msgspec.Struct, frozen=True, kw_only=True):
    """A rule of the organization: on ``event_type``, do ``action``."""

    id: Annotated[IntId, Meta(description="The rule's id.")]
    event_type: Annotated[AutomationEvent, Meta(description="The event that triggers the rule.")]
    action: Annotated[AutomationAction, Meta(description="What the rule does: `webhook` or `require_form`.")]
    webhook_url: Annotated[
        str | None,
        Meta(description="The URL events are POSTed to (`webhook`); null for built-in actions."),
    ]
    form_template_id: Annotated[
        IntId | None,
        Meta(description="The form template given to the patient (`require_form`); null otherwise."),
    ]
    enabled: RuleEnabled
    created_at: Annotated[Timestamp, Meta(description="When the rule was created.")]


class AutomationRuleCreated(AutomationRule, frozen=True, kw_only=True):
    """The new rule, with the webhook signing secret: shown once, never again (``null`` for built-ins)."""

    signing_secret: Annotated[
        str | None,
        Meta(
            description=(
                "The webhook signing secret (Standard Webhooks): shown once, never again; null for built-in actions."
            )
        ),
    ]


class AutomationRuleList(msgspec.Struct, frozen=True, kw_only=True):
    """The organization's automation rules."""

    rules: Annotated[list[AutomationRule], Meta(description="The organization's rules.")]


class AutomationDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event delivered (or being delivered) to one rule."""

    id: Annotated[IntId, Meta(description="The delivery's id.")]
    event_id: Annotated[IntId, Meta(description="The outbox event delivered.")]
    event_type: Annotated[str, Meta(description="The event's type (`treatment_plan.assigned`, see AutomationEvent).")]
    entity_type: Annotated[str, Meta(description="The kind of object the event is about (`patient_treatment_plan`).")]
    entity_id: Annotated[str, Meta(description="The id of that object, as text.")]
    rule_id: Annotated[IntId, Meta(description="The rule it is delivered to.")]
    action: Annotated[AutomationAction, Meta(description="The rule's action: `webhook` or `require_form`.")]
    status: Annotated[
        DeliveryStatus,
        Meta(description="`pending`, `delivered`, `dead` or `cancelled` (see DeliveryStatus)."),
    ]
    attempts: Annotated[NonNegativeInt, Meta(description="Attempts made so far.")]
    next_attempt_at: Annotated[Timestamp | None, Meta(description="When the next attempt is due (pending only).")]
    last_status_code: Annotated[
        int | None,
        Meta(description="The webhook's last HTTP status; ``null`` for built-ins and network failures."),
    ]
    last_error: Annotated[
        str | None,
        Meta(
            description=(
                "Why the last attempt failed, as a category: ``timeout``, ``connection refused``,"
                " ``TLS error``, ``connection failed``, ``network error``, ``HTTP <status>``, "
                "``name not resolved``, ``destination not allowed``, ``URL not allowed``, "
                "``attempt interrupted``, ``the event names no patient`` or ``internal error`` "
                "(see docs/automations.md)."
            )
        ),
    ]
    delivered_at: Annotated[Timestamp | None, Meta(description="When it was delivered; null until then.")]
    event_created_at: Annotated[Timestamp, Meta(description="When the event happened (was written to the outbox).")]
    created_at: Annotated[Timestamp, Meta(description="When the delivery was made for the rule.")]


class AutomationDeliveryList(PageInfo, frozen=True, kw_only=True):
    """One page of deliveries, newest first."""

    deliveries: Annotated[list[AutomationDelivery], Meta(description="Deliveries on this page.")]


# Request bodies as documented: each Struct with an example (service_common.openapi puts it on the schema).
AutomationRuleCreateBody = Annotated[
    AutomationRuleCreate,
    Meta(examples=[{"event_type": "treatment_plan.assigned", "action": "require_form", "form_template_id": 7}]),
]
AutomationRuleUpdateBody = Annotated[AutomationRuleUpdate, Meta(examples=[{"enabled": False}])]
