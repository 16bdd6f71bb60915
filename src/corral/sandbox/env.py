"""The environment a sandboxed command sees: an allowlist of the host's, never a secret.

Only the variables named here cross from the host; the caller's `env` (cache locations)
is added on top, minus anything whose name looks like a credential. A value carrying a
password in a URL (`https://user:token@host`) is dropped whatever its name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from corral.sandbox.base import NetworkPolicy

log = logging.getLogger(__name__)

HOST_ALLOWED = frozenset(
    {
        "PATH",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "USER",
        "LOGNAME",
        # toolchains' own settings
        "JAVA_HOME",
        "MAVEN_HOME",
        "M2_HOME",
        "MAVEN_OPTS",
        "GRADLE_HOME",
        "GOROOT",
        "GOPROXY",
        "GOSUMDB",
        "GONOSUMDB",
        "GOPRIVATE",
        "GOFLAGS",
        "GOTOOLCHAIN",
        "RUSTUP_HOME",
        "CARGO_HOME",
        "RUSTUP_TOOLCHAIN",
        "RUSTUP_AUTO_INSTALL",
        "RUST_BACKTRACE",
        "PYENV_ROOT",
        "PYENV_VERSION",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PIP_FIND_LINKS",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_DEFAULT_TIMEOUT",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "NODE_OPTIONS",
        "NVM_DIR",
        "npm_config_registry",
        "NPM_CONFIG_REGISTRY",
        "YARN_REGISTRY",
        "YARN_NPM_REGISTRY_SERVER",
        "COREPACK_NPM_REGISTRY",
        "COREPACK_INTEGRITY_KEYS",
        # certificate bundles: paths, needed by prepare steps behind a TLS-inspecting proxy
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "PIP_CERT",
        "GIT_SSL_CAINFO",
    }
)
HOST_ALLOWED_PREFIXES = ("LC_",)
PROXY_NAMES = frozenset(
    {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
    | {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
)
"""Forwarded only with network "open": without network they could only point outside."""

_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|_KEY$|CREDENTIAL|AUTH|COOKIE|SESSION"
    r"|^(AWS|AZURE|ARM|GCP|GOOGLE|GCLOUD|CLOUDSDK|GH|GITHUB|GITLAB|CI_JOB|VAULT|OP|DOCKER"
    r"|KUBE|HF|HUGGING_?FACE|ANTHROPIC|OPENAI|NPM_TOKEN|NODE_AUTH)_"
    r"|^(SSH_AUTH_SOCK|KUBECONFIG|NETRC)$",
    re.IGNORECASE,
)
_PASSWORD_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def is_secret(name: str, value: str) -> bool:
    """Whether a variable looks like a credential, by its name or a password in a URL."""
    return bool(_SECRET_NAME.search(name) or _PASSWORD_IN_URL.search(value))


def sandbox_env(
    host: Mapping[str, str],
    extra: Mapping[str, str] | None,
    *,
    home: str,
    network: NetworkPolicy,
) -> dict[str, str]:
    """The whole environment of a sandboxed command."""
    env = {
        name: value
        for name, value in host.items()
        if _host_allowed(name, network) and not is_secret(name, value)
    }
    dropped = []
    for name, value in (extra or {}).items():
        if is_secret(name, value):
            dropped.append(name)
        else:
            env[name] = value
    if dropped:
        log.warning("not passing secret-looking variables to the sandbox: %s", ", ".join(dropped))
    env["HOME"] = home
    env["TMPDIR"] = "/tmp"
    return env


def _host_allowed(name: str, network: NetworkPolicy) -> bool:
    if name in HOST_ALLOWED or name.startswith(HOST_ALLOWED_PREFIXES):
        return True
    return network == "open" and name in PROXY_NAMES
