"""Bearer-JWT authentication and role guards for both services, one module per job.

A request carries ``Authorization: Bearer <JWT>``. The service's verifier checks the token against the
identity provider's public keys (a JWKS document: fetched from ``AUTH_JWKS_URL`` in production, read from
``AUTH_JWKS_FILE`` on a developer's machine, see ``tools/tokens.py``) and turns its claims into the caller.
Only EdDSA (Ed25519) and RS256 signatures are accepted, each key only with its own algorithm, so
``alg=none`` and the HS256-with-a-public-key confusion can never verify.

- :mod:`~service_common.auth.settings`: :class:`AuthSettings`, the ``AUTH_`` environment variables;
- :mod:`~service_common.auth.keys`: the signing keys, from the JWKS file or URL;
- :mod:`~service_common.auth.verifier`: :class:`JwtVerifier` (signature, issuer, audience, time claims)
  and :class:`TokenVerifier`, which makes a core-api :class:`Actor` of the claims;
- :mod:`~service_common.auth.actor`: :class:`Actor`, its roles, :func:`current_actor` for guards, and
  :func:`caller_dependency`, which hands the caller to handlers;
- :mod:`~service_common.auth.errors`: :class:`AuthenticationError` and its 401 problem;
- :mod:`~service_common.auth.middleware`: the middleware that verifies every request but the public paths;
- :mod:`~service_common.auth.guards`: :class:`RoleGuard` and :func:`allow_roles`;
- :mod:`~service_common.auth.openapi`: the bearer security scheme of the OpenAPI documents.

Wiring: each service's ``create_app()`` builds its verifier and passes it to
:func:`service_common.app.service_app`, as core-api does::

    service_app(..., verifier=UserCheckingVerifier(settings.auth, pool), bearer_description=BEARER_DESCRIPTION)

(telemetry passes ``TelemetryVerifier(settings.auth)`` and keeps the same verifier in ``state`` for its
beacon route, whose token comes in the body). ``service_app`` lists
``[request_context_middleware, auth_middleware(verifier)]`` as the middleware and declares the scheme with
``OpenAPIConfig(components=bearer_security_components(bearer_description))``; the authenticated routes
name it (``security=bearer_security()``: core-api once, on the router holding all of them). core-api's
controllers take ``guards=[allow_roles("specialist", "admin")]`` and receive the caller as their
``actor: CurrentActor`` parameter (the app-wide dependency ``caller_dependency(current_actor)``);
telemetry's use their own :class:`RoleGuard` s and ``telemetry.identity.telemetry_actor``.
"""
