"""The bearer security scheme of the OpenAPI documents.

:func:`service_common.app.service_app` declares the scheme with
``OpenAPIConfig(components=bearer_security_components(bearer_description))`` and sets no document-wide
``security``: the authenticated routes name the scheme themselves (``security=bearer_security()`` on a
controller, or on the router holding them, as core-api does), so the health routes stay open.
"""

from __future__ import annotations

from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme

BEARER_SCHEME_NAME = "BearerToken"
"""Name of the bearer security scheme in the OpenAPI documents."""

IDENTITY_PROVIDER_SCHEME = "A JWT from the identity provider, signed with EdDSA or RS256."
"""The bearer scheme's description unless a service states its own token."""


def bearer_security_components(description: str = IDENTITY_PROVIDER_SCHEME) -> Components:
    """OpenAPI ``components`` declaring the bearer-JWT scheme, described by ``description`` (which token,
    and how a client gets it), for ``OpenAPIConfig(components=...)``."""
    return Components(
        security_schemes={
            BEARER_SCHEME_NAME: SecurityScheme(
                type="http",
                scheme="bearer",
                bearer_format="JWT",
                description=description,
            )
        }
    )


def bearer_security() -> list[SecurityRequirement]:
    """The OpenAPI ``security`` requirement naming the bearer scheme, for a controller's ``security``."""
    return [{BEARER_SCHEME_NAME: []}]
