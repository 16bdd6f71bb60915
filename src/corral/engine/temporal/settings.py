"""How corral reaches Temporal and paces its workflows, from configuration.

The connection (address, namespace, TLS, API key) comes from Temporal's own environment
configuration, so a fleet configures corral like any other Temporal client: the variables
`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_CLIENT_CERT_PATH`,
`TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`,
or a profile (`TEMPORAL_PROFILE`) of the TOML file `TEMPORAL_CONFIG_FILE`. Command-line
options (`--temporal-address`, `--namespace`) win over both. corral's own settings are the
task queue and the pace below (`CORRAL_TEMPORAL_*`).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corral.config import ConfigError

DEFAULT_ADDRESS = "localhost:7233"
_ENV_PREFIX = "CORRAL_TEMPORAL_"


class Pace(BaseModel):
    """Timing of a campaign's workflows, chosen by whoever starts the campaign."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heartbeat_timeout_s: float = Field(default=60.0, gt=0)
    """A step whose worker stops heartbeating this long is retried (the worker is gone)."""
    worker_lost_after_s: float = Field(default=300.0, gt=0)
    """A step nobody on its machine picks up this long moves the job to another machine."""
    approval_recheck_s: float = Field(default=300.0, gt=0)
    """A held job looks at the store this often, for decisions made without a signal."""
    ci_slot_recheck_s: float = Field(default=30.0, gt=0)
    """A push waiting for a CI slot (`ci_concurrency`) tries again this often."""


class TemporalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = None
    """HOST:PORT of the Temporal frontend; default: Temporal's configuration, else localhost."""
    namespace: str | None = None
    """Default: Temporal's configuration, else `default`."""
    task_queue: str = Field(default="corral", min_length=1)
    """The queue every corral worker of this fleet polls for workflows and shared work."""
    pace: Pace = Field(default_factory=Pace)

    @classmethod
    def from_env(
        cls, address: str | None = None, namespace: str | None = None, task_queue: str | None = None
    ) -> TemporalSettings:
        """corral's settings from `CORRAL_TEMPORAL_*`, with the given options on top."""
        env = {
            k.removeprefix(_ENV_PREFIX).lower(): v
            for k, v in os.environ.items()
            if k.startswith(_ENV_PREFIX)
        }
        pace_names = set(Pace.model_fields)
        pace = {k: v for k, v in env.items() if k in pace_names}
        given: dict[str, Any] = {
            "address": address,
            "namespace": namespace,
            "task_queue": task_queue or env.get("task_queue"),
        }
        try:
            return cls(pace=Pace.model_validate(pace), **{k: v for k, v in given.items() if v})
        except ValidationError as exc:
            raise ConfigError(f"Temporal settings ({_ENV_PREFIX}*): {exc}") from exc

    def connect_config(self) -> dict[str, Any]:
        """Keyword arguments for `temporalio.client.Client.connect`."""
        from temporalio.envconfig import ClientConfig

        try:
            config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
        except Exception as exc:  # the Rust core raises its own error types for bad files
            raise ConfigError(f"Temporal client configuration: {exc}") from exc
        if self.address:
            config["target_host"] = self.address
        if self.namespace:
            config["namespace"] = self.namespace
        config.setdefault("target_host", DEFAULT_ADDRESS)
        return config
