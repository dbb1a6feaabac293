"""HTTP routes of automations: an organization's rules, and the state of their deliveries (admins only)."""

from __future__ import annotations

from typing import Annotated

from contracts.automation import (
    AutomationDelivery,
    AutomationDeliveryList,
    AutomationEvent,
    AutomationRule,
    AutomationRuleCreate,
    AutomationRuleCreated,
    AutomationRuleList,
    AutomationRuleUpdate,
    DeliveryStatus,
)
from litestar import Controller, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from service_common.auth.actor import CurrentActor
from service_common.errors import problem_responses

from core_api.dependencies import Automation
from core_api.paging import MAX_ID, IdPath, PageRequest
from core_api.routing import ADMIN, act, listing, read

RuleIdQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID, description="only this rule's deliveries")]


class AutomationController(Controller):
    path = "/v1/automation"
    tags = ["automation"]
    guards = [ADMIN]

    @post(
        "/rules",
        operation_id="CreateAutomationRule",
        status_code=HTTP_201_CREATED,
        responses=problem_responses(401, 403, 422),
    )
    async def create_rule(
        self, actor: CurrentActor, automation: Automation, data: JSONBody[AutomationRuleCreate]
    ) -> AutomationRuleCreated:
        """Add a rule: on ``event_type``, call a webhook (its signing secret is in this response only) or run a
        built-in action (``require_form``: give the event's patient a pending form of ``form_template_id``).
        A webhook URL must be https and reach a public address (422 naming ``webhook_url`` otherwise); an
        organization has at most AUTOMATION_MAX_RULES_PER_ORGANIZATION rules (422 beyond)."""
        return await automation.create_rule(actor, data)

    @get("/rules", operation_id="ListAutomationRules", responses=problem_responses(401, 403))
    async def list_rules(self, actor: CurrentActor, automation: Automation) -> AutomationRuleList:
        """The organization's rules, oldest first."""
        return await automation.list_rules(actor)

    @read("/rules/{rule_id:int}", "GetAutomationRule")
    async def get_rule(self, actor: CurrentActor, automation: Automation, rule_id: IdPath) -> AutomationRule:
        """One rule of the organization; its signing secret is not shown again."""
        return await automation.get_rule(actor, rule_id)

    @patch(
        "/rules/{rule_id:int}",
        operation_id="UpdateAutomationRule",
        responses=problem_responses(401, 403, 404, 422),
    )
    async def update_rule(
        self, actor: CurrentActor, automation: Automation, rule_id: IdPath, data: JSONBody[AutomationRuleUpdate]
    ) -> AutomationRule:
        """Enable or disable a rule; disabling cancels its deliveries that have not started, and a disabled rule
        gets no deliveries for events that happen meanwhile."""
        return await automation.update_rule(actor, rule_id, data)

    @delete(
        "/rules/{rule_id:int}",
        operation_id="DeleteAutomationRule",
        status_code=HTTP_204_NO_CONTENT,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def delete_rule(self, actor: CurrentActor, automation: Automation, rule_id: IdPath) -> None:
        """Delete a rule: its deliveries that have not started are cancelled, its signing secret is erased, and
        its delivery history stays listed."""
        await automation.delete_rule(actor, rule_id)

    @listing("/deliveries", "ListAutomationDeliveries")
    async def list_deliveries(
        self,
        actor: CurrentActor,
        automation: Automation,
        status: FromQuery[DeliveryStatus | None] = None,
        rule_id: RuleIdQuery = None,
        event_type: FromQuery[AutomationEvent | None] = None,
        *,
        paging: PageRequest,
    ) -> AutomationDeliveryList:
        """Deliveries, newest first: pending (with attempts so far and when the next is due), delivered, dead
        (every attempt failed; the last error category and HTTP status say why), or cancelled (its rule was
        disabled or deleted first)."""
        return await automation.list_deliveries(
            actor, status=status, rule_id=rule_id, event_type=event_type, paging=paging
        )

    @act("/deliveries/{delivery_id:int}/retry", "RetryAutomationDelivery")
    async def retry_delivery(
        self, actor: CurrentActor, automation: Automation, delivery_id: IdPath
    ) -> AutomationDelivery:
        """Send a dead or cancelled delivery back to the queue with fresh attempts (409 unless it is dead or
        cancelled, or when its rule is disabled or deleted). Later events of the same enrollment may already
        have been delivered: a retried one arrives out of order."""
        return await automation.retry_delivery(actor, delivery_id)
