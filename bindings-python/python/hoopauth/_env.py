"""Configuration from the documented environment variables.

``HOOPAUTH_CLIENT_ID`` (required), ``HOOPAUTH_CLIENT_SECRET``, ``HOOPAUTH_REDIRECT_URI``,
``HOOPAUTH_MARKETPLACE`` and ``HOOPAUTH_API_BASE`` (the platform's by default: set both to
point the app at another one, e.g. the emulator), ``HOOPAUTH_WEBHOOK_KEY`` (the webhook
signing key, SPKI base64 or PEM; the platform's published key by default).
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

from ._errors import InvalidConfigError
from ._hoopauth import Config, WebhookVerifier

__all__ = ["config_from_env", "webhook_verifier_from_env", "ENV_VARS"]

#: The environment variables :func:`config_from_env` and :func:`webhook_verifier_from_env` read.
ENV_VARS = (
    "HOOPAUTH_CLIENT_ID",
    "HOOPAUTH_CLIENT_SECRET",
    "HOOPAUTH_REDIRECT_URI",
    "HOOPAUTH_MARKETPLACE",
    "HOOPAUTH_API_BASE",
    "HOOPAUTH_WEBHOOK_KEY",
)


def _get(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name, "").strip()
    return value or None


def config_from_env(environ: Optional[Mapping[str, str]] = None) -> Config:
    """A :class:`Config` from ``HOOPAUTH_CLIENT_ID``, ``HOOPAUTH_CLIENT_SECRET``,
    ``HOOPAUTH_REDIRECT_URI``, ``HOOPAUTH_MARKETPLACE`` and ``HOOPAUTH_API_BASE`` (unset or
    empty: the default). ``environ``: another mapping than ``os.environ``."""
    env = os.environ if environ is None else environ
    client_id = _get(env, "HOOPAUTH_CLIENT_ID")
    if client_id is None:
        raise InvalidConfigError("HOOPAUTH_CLIENT_ID is not set", kind="invalid_config")
    return Config(
        client_id,
        client_secret=_get(env, "HOOPAUTH_CLIENT_SECRET"),
        redirect_uri=_get(env, "HOOPAUTH_REDIRECT_URI"),
        marketplace=_get(env, "HOOPAUTH_MARKETPLACE"),
        api_base=_get(env, "HOOPAUTH_API_BASE"),
    )


def webhook_verifier_from_env(environ: Optional[Mapping[str, str]] = None) -> WebhookVerifier:
    """A :class:`WebhookVerifier` for ``HOOPAUTH_WEBHOOK_KEY`` (unset: the platform's
    published key)."""
    env = os.environ if environ is None else environ
    return WebhookVerifier(_get(env, "HOOPAUTH_WEBHOOK_KEY"))
