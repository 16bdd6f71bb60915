"""The dashboard's settings: what `corral serve` and `create_app` are given."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field, SecretStr

TOKEN_ENV = "CORRAL_DASHBOARD_TOKEN"


class DashboardSettings(BaseModel):
    token: SecretStr | None = None
    """Needed for every write (approve, reject, feedback); without it the dashboard is
    read-only. Default: $CORRAL_DASHBOARD_TOKEN."""
    refresh_s: float = Field(default=3.0, gt=0, le=600)
    """How often a page whose campaign is not over refreshes its live parts."""

    @classmethod
    def from_env(cls, **overrides: object) -> DashboardSettings:
        token = os.environ.get(TOKEN_ENV) or None
        return cls.model_validate({"token": token, **overrides})

    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None
