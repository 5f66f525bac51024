"""Rendering of the configuration API's resources in XML or JSON.

Both formats use the same field names. The response profile sets the element order,
the refURL and whether permissionInfo appears.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from .registration import RegistrationState
from .session import ContextServiceConfig

__all__ = [
    "CONFIG_PATH",
    "REGISTRATION_PATH",
    "authorize_url",
    "render_registration",
    "render_service_config",
    "unauthorize_url",
]

BASE_PATH = "/unifiedconfig/config"
REGISTRATION_PATH = f"{BASE_PATH}/contextserviceregistration"
CONFIG_PATH = f"{BASE_PATH}/contextservice"

# The permissionInfo block real servers were seen to return for an administrator.
_PERMISSION_INFO = {
    "canUpdate": True,
    "departmentAdmin": False,
    "role": "Administrator",
}


def authorize_url(wizard_base: str, callback_url: str) -> str:
    """Return the wizard URL that starts a registration."""
    return (
        f"{wizard_base}/v1/authorize?callbackUrl={quote(callback_url, safe='')}"
        "&appType=custom"
    )


def unauthorize_url(wizard_base: str, callback_url: str) -> str:
    """Return the wizard URL that starts a deregistration."""
    return f"{wizard_base}/v1/unauthorize?callbackUrl={quote(callback_url, safe='')}"


def render_registration(
    state: RegistrationState,
    *,
    public_url: str,
    callback_url: str | None,
    profile: str,
    as_json: bool,
) -> str:
    """Render contextServiceRegistration for ``state`` by the API's state table."""
    urls: dict[str, str] = {}
    if state == "registered":
        urls["managementUrl"] = f"{public_url}/management"
        if callback_url is not None:
            urls["deregistrationUrl"] = unauthorize_url(public_url, callback_url)
    elif callback_url is not None:
        urls["registrationUrl"] = authorize_url(public_url, callback_url)

    fields: dict[str, Any]
    if profile == "observed":
        fields = {"refURL": REGISTRATION_PATH}
        rest: dict[str, Any] = {"state": state, "permissionInfo": _PERMISSION_INFO}
        rest.update(urls)
        fields.update(sorted(rest.items()))
    else:
        fields = {"state": state}
        for name in ("managementUrl", "registrationUrl", "deregistrationUrl"):
            if name in urls:
                fields[name] = urls[name]
        fields["refURL"] = CONFIG_PATH
    return _render("contextServiceRegistration", fields, as_json)


def render_service_config(
    config: ContextServiceConfig, *, profile: str, as_json: bool
) -> str:
    """Render contextServiceConfig in the profile's element order."""
    values: dict[str, Any] = {
        "labMode": config.lab_mode,
        "maxRetries": config.max_retries,
        "proxyUrl": config.proxy_url,
        "timeout": config.timeout,
    }
    if profile == "observed":
        fields = {"refURL": CONFIG_PATH, **values}
    else:
        fields = {**values, "refURL": CONFIG_PATH}
    return _render("contextServiceConfig", fields, as_json)


def _render(root: str, fields: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(fields)
    return f"<{root}>{_render_fields(fields)}</{root}>"


def _render_fields(fields: dict[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        if isinstance(value, dict):
            text = _render_fields(value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = escape(str(value))
        parts.append(f"<{name}>{text}</{name}>")
    return "".join(parts)
