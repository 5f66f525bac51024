"""The apiErrors envelope and the table of every error the mock returns."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = ["ERRORS", "SUCCESS_TEXT", "ApiError", "ErrorKind", "render_api_errors"]


@dataclass(frozen=True)
class ErrorKind:
    """One row of the error table: the status and errorType a situation gets."""

    status: int
    error_type: str
    message: str


# Every errorType and message the mock returns. PARTIAL_SUCCESS, the first sentence of
# its message and the busy message come from Cisco's reference. The device name and
# reason after that sentence and the rest of the table are the mock's own choice,
# because the real server's values are not published.
ERRORS: dict[str, ErrorKind] = {
    "field_required": ErrorKind(
        400, "invalidInput.fieldRequired", "The field {field} is required."
    ),
    "field_length_exceeded": ErrorKind(
        400,
        "invalidInput.fieldLengthExceeded",
        "The field {field} is longer than {max} bytes in UTF-8.",
    ),
    "deregister_first": ErrorKind(
        400,
        "invalidInput.deregisterFirst",
        "Deregister before reregistering: send an empty connectionData first, "
        "or send the stored value again.",
    ),
    "invalid_characters": ErrorKind(
        400,
        "invalidInput.invalidCharacters",
        "The field {field} contains characters that XML 1.0 does not allow.",
    ),
    "invalid_url": ErrorKind(
        400,
        "invalidInput.invalidUrl",
        "The parameter {field} must be an absolute http or https URL.",
    ),
    "malformed_body": ErrorKind(
        400,
        "invalidInput.malformedBody",
        "The request body is not well-formed: {reason}",
    ),
    "forbidden_xml": ErrorKind(
        400,
        "invalidInput.forbiddenXml",
        "The request body uses a forbidden XML construct: {reason}",
    ),
    "invalid_encoding": ErrorKind(
        400, "invalidInput.invalidEncoding", "The request body is not valid {charset}."
    ),
    "schema_violation": ErrorKind(
        400, "invalidInput.schemaViolation", "{path}: {reason}"
    ),
    "unauthorized": ErrorKind(
        401,
        "authentication.failed",
        "Authentication failed: send HTTP Basic credentials of a configured user.",
    ),
    "not_found": ErrorKind(
        404, "notFound.resource", "No resource at {path}. Known resources: {known}."
    ),
    "query_in_path": ErrorKind(
        404,
        "notFound.resource",
        "No resource at {path}: its '?' arrived percent-encoded as %3F, so the query "
        "string became part of the path. Send the query unencoded after the path. "
        "Known resources: {known}.",
    ),
    "method_not_allowed": ErrorKind(
        405, "methodNotAllowed", "Method {method} is not allowed; allowed: {allowed}."
    ),
    "body_too_large": ErrorKind(
        413,
        "invalidInput.bodyTooLarge",
        "The request body is larger than {max} bytes.",
    ),
    "unsupported_media_type": ErrorKind(
        415,
        "invalidInput.unsupportedMediaType",
        "Content-Type {content_type} is not supported; "
        "send application/xml, text/xml or application/json.",
    ),
    "partial_success": ErrorKind(
        201,
        "PARTIAL_SUCCESS",
        "Configuration update failed for one or more devices. "
        "Device {device}: {reason}.",
    ),
    "database_failure": ErrorKind(
        500,
        "DATABASE_ERROR",
        "The configuration update to the database failed; nothing was changed.",
    ),
    "device_not_found": ErrorKind(
        404,
        "notFound.device",
        "No device named {name} is simulated here. Simulated devices: {known}.",
    ),
    # A device fault responds with the status its behaviour sets, so 500 is nominal.
    "device_update_failed": ErrorKind(
        500,
        "device.updateFailed",
        "Device {name} rejected the update, as its behaviour sets.",
    ),
    "scripted_fault": ErrorKind(
        500,
        "mock.scriptedFault",
        "Fault rule {index} of the scenario returned status {status}.",
    ),
    "busy": ErrorKind(
        503,
        "SERVER_BUSY",
        "The server is currently busy. Please try again later.",
    ),
}

# The body of a 200 response to an update, from Cisco's reference.
SUCCESS_TEXT = "Successfully saved"


@dataclass(frozen=True)
class ApiError:
    """One apiError element: what failed, on which field, and why."""

    error_type: str
    error_message: str
    error_data: str | None = None
    error_detail: str | None = None

    @classmethod
    def of(
        cls,
        kind: str,
        *,
        data: str | None = None,
        detail: str | None = None,
        **values: object,
    ) -> ApiError:
        """Build the error of table row ``kind``, filling its message placeholders."""
        row = ERRORS[kind]
        return cls(row.error_type, row.message.format(**values), data, detail)

    def as_dict(self) -> dict[str, str]:
        """Return the fields in alphabetical order, as the real server writes them."""
        fields = {
            "errorData": self.error_data,
            "errorDetail": self.error_detail,
            "errorMessage": self.error_message,
            "errorType": self.error_type,
        }
        return {key: value for key, value in fields.items() if value is not None}


def render_api_errors(errors: Iterable[ApiError], *, as_json: bool = False) -> str:
    """Render an apiErrors document in XML, or in JSON with the same field names."""
    items = [error.as_dict() for error in errors]
    if as_json:
        return json.dumps({"apiErrors": {"apiError": items}})
    parts = ["<apiErrors>"]
    for item in items:
        parts.append("<apiError>")
        for key, value in item.items():
            parts.append(f"<{key}>{escape(value)}</{key}>")
        parts.append("</apiError>")
    parts.append("</apiErrors>")
    return "".join(parts)
