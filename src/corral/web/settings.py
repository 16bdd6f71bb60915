"""The dashboard's settings: what `corral serve` and `create_app` are given."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field, SecretStr

TOKEN_ENV = "CORRAL_DASHBOARD_TOKEN"
HOSTS_ENV = "CORRAL_DASHBOARD_HOSTS"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SESSION_MAX_AGE_S = 12 * 3600
"""How long a sign-in lasts."""


class DashboardSettings(BaseModel):
    token: SecretStr | None = None
    """Needed for every write (approve, reject, feedback); without it the dashboard is
    read-only. Default: $CORRAL_DASHBOARD_TOKEN."""
    refresh_s: float = Field(default=3.0, gt=0, le=600)
    """How often a page whose campaign is not over refreshes its live parts."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Host names the dashboard answers to, besides 127.0.0.1, localhost and ::1 (a
    request naming any other `Host` is refused: DNS rebinding). `*` allows any. Default:
    $CORRAL_DASHBOARD_HOSTS, comma-separated."""

    @classmethod
    def from_env(cls, **overrides: object) -> DashboardSettings:
        token = os.environ.get(TOKEN_ENV) or None
        hosts = [h.strip() for h in os.environ.get(HOSTS_ENV, "").split(",") if h.strip()]
        return cls.model_validate({"token": token, "allowed_hosts": hosts, **overrides})

    def hosts(self) -> frozenset[str]:
        """Every allowed host name, lower-cased, without brackets or port."""
        return frozenset(h.lower().strip("[]") for h in (*LOCAL_HOSTS, *self.allowed_hosts))

    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None
