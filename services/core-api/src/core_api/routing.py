"""What core-api's routes share: who may call them (role guards) and the error statuses they document.

Every controller's route takes the bearer token (``create_app`` declares it once, on the router that holds
them); a route or its controller names one of these guards for the roles that may call it, and one of these
error sets as its ``responses`` where one fits.
"""

from __future__ import annotations

from service_common.auth.guards import allow_roles
from service_common.errors import problem_responses

ADMIN = allow_roles("admin")
STAFF = allow_roles("admin", "specialist")
# Every role takes part: patients on their own rows, staff on their organization's.
PARTICIPANTS = allow_roles("admin", "specialist", "patient")

LIST_ERRORS = problem_responses(401, 403, 422)
"""A listing or report of the caller's organization: no id that could be missing."""
READ_ERRORS = problem_responses(401, 403, 404, 422)
"""A read of one resource (or of what hangs from it), which may not exist or not be visible."""
CREATE_ERRORS = problem_responses(401, 403, 409, 422)
"""A create that may clash with an existing resource."""
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)
"""A write to an existing resource, which may be missing or in a state that refuses the write."""
