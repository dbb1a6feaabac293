"""Where the keys that sign bearer tokens come from: a JWKS file or the identity provider's JWKS URL.

:func:`key_source` picks the source from :class:`AuthSettings`: the URL (``AUTH_JWKS_URL``, production)
when it is set, otherwise the file (``AUTH_JWKS_FILE``, written by ``tools/tokens.py`` on a developer's
machine). Either source keeps only signing keys with a ``kid`` and one of :data:`ACCEPTED_ALGORITHMS`, and
picks up a rotated key without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgspec
import structlog
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from service_common.auth.settings import AuthSettings
from service_common.errors import ServiceUnavailableError

log = structlog.get_logger("auth")

ACCEPTED_ALGORITHMS = ("EdDSA", "RS256")
"""Signature algorithms a token may use; everything else (``none``, HS*, ...) is refused."""

# An unknown ``kid`` makes the verifier refetch a remote JWKS, but not more often than this: otherwise
# tokens with made-up key ids would turn every request into a request to the identity provider.
_MIN_REFETCH_SECONDS = 30.0
# After a failed fetch, the next request tries again this much later (keeping any keys it had).
_RETRY_AFTER_FAILURE_SECONDS = 5.0
_FETCH_TIMEOUT_SECONDS = 5.0


class KeySource(Protocol):
    """Signing keys by ``kid``, from wherever :func:`key_source` found them."""

    async def key_for(self, kid: str) -> PyJWK | None:
        """The signing key named ``kid``, or ``None`` when the source has no such key."""
        ...


def key_source(settings: AuthSettings, clock: Callable[[], float]) -> KeySource:
    """The keys ``settings`` name: cached from ``jwks_url`` when it is set (timed by ``clock``, monotonic
    seconds), otherwise read from ``jwks_file``."""
    if settings.jwks_url:
        return _RemoteKeys(settings.jwks_url, settings.jwks_cache_seconds, clock)
    return _FileKeys(Path(settings.jwks_file))


class _JwkSet(msgspec.Struct):
    keys: list[dict[str, Any]]


_jwk_set_decoder = msgspec.json.Decoder(_JwkSet)


def _signing_keys(document: bytes) -> dict[str, PyJWK]:
    """The keys of a JWKS document a token may be signed with, by ``kid``.

    Keys without a ``kid``, encryption keys, and keys of other algorithms (HMAC secrets above all) are
    left out. Raises ``msgspec.MsgspecError`` when the document is not a JWKS.
    """
    keys: dict[str, PyJWK] = {}
    for entry in _jwk_set_decoder.decode(document).keys:
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(entry)
        except PyJWTError:
            continue  # a key type or curve PyJWT cannot use; the other keys still count
        if key.algorithm_name in ACCEPTED_ALGORITHMS:
            keys[kid] = key
    return keys


class _FileKeys:
    """Keys from a local JWKS file, read again whenever the file changes (a key added for rotation)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        # (mtime, size) of the file as last read; None while it is missing.
        self._version: tuple[int, int] | None = (-1, -1)
        self._keys: dict[str, PyJWK] = {}

    async def key_for(self, kid: str) -> PyJWK | None:
        # One stat() per request: cheaper than any cache that could miss a rotation.
        self._reload_if_changed()
        return self._keys.get(kid)

    def _reload_if_changed(self) -> None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            version = None
        else:
            version = (stat.st_mtime_ns, stat.st_size)
        if version == self._version:
            return
        self._version = version
        if version is None:
            log.warning("auth.jwks_file_missing", path=str(self._path))
            self._keys = {}
            return
        try:
            self._keys = _signing_keys(self._path.read_bytes())
        except (OSError, msgspec.MsgspecError) as exc:
            # Keep the previous keys: the file is probably being rewritten by hand.
            log.error("auth.jwks_file_invalid", path=str(self._path), error=str(exc))
            return
        log.info("auth.jwks_loaded", source=str(self._path), kids=sorted(self._keys))


class _RemoteKeys:
    """Keys from the identity provider's JWKS URL, cached, refetched early for an unknown ``kid``."""

    def __init__(self, url: str, cache_seconds: float, clock: Callable[[], float]) -> None:
        self._url = url
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fresh_until = float("-inf")
        self._last_attempt = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> PyJWK | None:
        if self._clock() >= self._fresh_until:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None and self._clock() - self._last_attempt >= _MIN_REFETCH_SECONDS:
            # The provider may have rotated its keys since the last fetch.
            await self._refresh()
            key = self._keys.get(kid)
        if not self._keys:
            raise ServiceUnavailableError("The identity provider's signing keys could not be fetched.")
        return key

    async def _refresh(self) -> None:
        seen_attempt = self._last_attempt
        async with self._lock:
            if self._last_attempt != seen_attempt:
                return  # another request fetched while this one waited for the lock
            self._last_attempt = self._clock()
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, msgspec.MsgspecError) as exc:
                log.warning("auth.jwks_fetch_failed", url=self._url, error=str(exc), kept=len(self._keys))
                self._fresh_until = self._last_attempt + _RETRY_AFTER_FAILURE_SECONDS
                return
            self._keys = keys
            self._fresh_until = self._last_attempt + self._cache_seconds
            log.info("auth.jwks_loaded", source=self._url, kids=sorted(keys))

    async def _fetch(self) -> dict[str, PyJWK]:
        async with httpx.AsyncClient(timeout=_FETCH_TIMEOUT_SECONDS) as client:
            response = await client.get(self._url, headers={"Accept": "application/json"})
            response.raise_for_status()
        return _signing_keys(response.content)
