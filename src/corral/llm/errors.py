"""Why a model call could not be made. Adapters turn each SDK's exceptions into these.

Messages never contain an API key: authentication errors name where the key came from,
not the key, and do not echo the server's reply (some providers quote part of the key).
"""

from __future__ import annotations


class ModelError(Exception):
    """A model call could not be made."""


class ModelAuthError(ModelError):
    """The API key is missing, unreadable, or rejected by the provider (401/403)."""


class ModelUnavailableError(ModelError):
    """Rate limits, server errors, connection failures or timeouts outlasted the retries."""


class ModelRequestError(ModelError):
    """The provider refused the request itself (unknown model, bad parameters, too long)."""


class ModelResponseError(ModelError):
    """The provider answered with something that is not a usable reply."""


class ModelTransportError(ModelUnavailableError, ModelResponseError):
    """The answer was malformed, foreign, cut off or late: retried, unlike a refusal."""


def status_error(provider: str, status: int, detail: str, key_source: str) -> ModelError:
    """The ModelError for an HTTP error status that the SDK gave up on (after its retries)."""
    if status in (401, 403):
        verb = "rejected" if status == 401 else "is not allowed to use"
        return ModelAuthError(f"{provider} {verb} the API key from {key_source} (HTTP {status})")
    if status in (408, 409, 429) or status >= 500:
        return ModelUnavailableError(f"{provider} is unavailable (HTTP {status}): {detail}")
    return ModelRequestError(f"{provider} refused the request (HTTP {status}): {detail}")


def connection_error(provider: str, base_url: str, exc: Exception) -> ModelUnavailableError:
    kind = "timed out" if "timeout" in type(exc).__name__.lower() else "could not be reached"
    return ModelUnavailableError(f"{provider} at {base_url} {kind}: {exc}")
