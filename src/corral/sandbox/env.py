"""The environment a sandboxed command sees: an allowlist of the host's, never a secret.

Only the variables named here cross from the host; the caller's `env` (cache locations)
is added on top, minus anything whose name looks like a credential. In every value that is
kept, credentials are cut out: the user-info of any URL (`https://TOKEN@host`,
`https://user:pass@host` become `https://host`) and password-like options
(`-Dproxy.password=...`, `--token=...`, `--password VALUE`), so a mirror configured with a
token still works without the token ever reaching the sandbox.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from corral import ecosystems
from corral.sandbox.base import NetworkPolicy

log = logging.getLogger(__name__)

HOST_ALLOWED = frozenset(
    {
        # toolchains' folders and settings, from each ecosystem's registry entry
        *ecosystems.toolchain_dirs(),
        *ecosystems.toolchain_env(),
        "PATH",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "USER",
        "LOGNAME",
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
_SECRET_WORD = r"(?:pass(?:word|wd|phrase)?|pwd|token|secret|credentials?|api[._-]?key|auth\w*)"
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@?#]+@")
_SECRET_OPTION = re.compile(
    rf"(?P<lead>^|\s)(?:-D|--?)[\w.-]*{_SECRET_WORD}[\w.-]*(?:=\S*|\s+(?!-)\S+)?(?=\s|$)",
    re.IGNORECASE,
)


def is_secret(name: str, value: str = "") -> bool:
    """Whether a variable looks like a credential, by its name or a credential in its value."""
    return bool(_SECRET_NAME.search(name)) or without_credentials(value) != value


def without_credentials(value: str) -> str:
    """`value` with URL user-info and password-like options cut out."""
    value = _URL_USERINFO.sub(r"\g<scheme>", value)
    return _SECRET_OPTION.sub(r"\g<lead>", value).strip() if "-" in value else value


def sandbox_env(
    host: Mapping[str, str],
    extra: Mapping[str, str] | None,
    *,
    home: str,
    network: NetworkPolicy,
) -> dict[str, str]:
    """The whole environment of a sandboxed command."""
    candidates = {n: v for n, v in host.items() if _host_allowed(n, network)}
    candidates.update(extra or {})
    env: dict[str, str] = {}
    dropped, cleaned = [], []
    for name, value in candidates.items():
        if _SECRET_NAME.search(name):
            dropped.append(name)
            continue
        env[name] = without_credentials(value)
        if env[name] != value:
            cleaned.append(name)
    if dropped:
        log.debug("not passing secret-looking variables to the sandbox: %s", ", ".join(dropped))
    if cleaned:
        log.warning("credentials cut from variables passed to the sandbox: %s", ", ".join(cleaned))
    env["HOME"] = home
    env["TMPDIR"] = "/tmp"
    return env


def _host_allowed(name: str, network: NetworkPolicy) -> bool:
    if name in HOST_ALLOWED or name.startswith(HOST_ALLOWED_PREFIXES):
        return True
    return network == "open" and name in PROXY_NAMES
