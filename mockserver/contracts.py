"""Safe parsing of request bodies and their validation against XSDs and JSON Schemas.

xmlschema and jsonschema take about half a second to import and compile, so they load
in a worker thread after the socket is bound: GET requests are served at once, and
request bodies wait for the compiled contracts.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring as parse_xml_text

from .apierrors import ApiError

__all__ = [
    "SCHEMA_DIR",
    "BodyRejected",
    "Contracts",
    "ContractsLoader",
    "UpdateBody",
    "decode_body",
    "is_xml_text",
    "parse_json_object",
    "parse_xml",
]

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

# Root element name -> the XSD file that defines it.
XSD_FILES = {
    "apiErrors": "apiErrors.xsd",
    "contextServiceConfig": "contextServiceConfig.xsd",
    "contextServiceRegistration": "contextServiceRegistration.xsd",
    "deviceContextService": "deviceContextService.xsd",
}
UPDATE_XSD = "contextServiceRegistration-update.xsd"
UPDATE_JSON_SCHEMA = "contextServiceRegistration-update.schema.json"

# Fields of the resource that an update may carry; all but connectionData are ignored.
RESOURCE_FIELDS = frozenset(
    {
        "changeStamp",
        "connectionData",
        "correlationId",
        "department",
        "deregistrationUrl",
        "managementUrl",
        "permissionInfo",
        "refURL",
        "registrationUrl",
        "state",
    }
)

# Characters XML 1.0 allows in text.
_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BOM = "\ufeff"


class BodyRejected(Exception):
    """A request body cannot be accepted; carries the status and the apiErrors."""

    def __init__(self, status: int, errors: list[ApiError]) -> None:
        super().__init__(status, errors)
        self.status = status
        self.errors = errors


@dataclass(frozen=True)
class UpdateBody:
    """A parsed update: the connectionData value and the contract warnings."""

    connection_data: str
    warnings: tuple[str, ...] = ()


def decode_body(raw: bytes, charset: str | None) -> str:
    """Decode ``raw`` with ``charset`` (UTF-8 when missing), dropping a UTF-8 BOM."""
    encoding = charset or "utf-8"
    try:
        text = raw.decode(encoding)
    except LookupError as exc:
        raise BodyRejected(
            415,
            [ApiError.of("unsupported_media_type", content_type=f"charset={encoding}")],
        ) from exc
    except UnicodeDecodeError as exc:
        raise BodyRejected(
            400, [ApiError.of("invalid_encoding", charset=encoding.upper())]
        ) from exc
    return text.removeprefix(_BOM)


def parse_xml(text: str) -> Element:
    """Parse ``text`` with DTDs, entities and external references forbidden.

    defusedxml stops the parser at the DOCTYPE or entity declaration itself, so no
    entity is ever expanded and no external resource is fetched.
    """
    try:
        root: Element = parse_xml_text(
            text, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DTDForbidden as exc:
        reason = "a DOCTYPE declaration is not allowed"
        raise BodyRejected(400, [ApiError.of("forbidden_xml", reason=reason)]) from exc
    except EntitiesForbidden as exc:
        reason = "entity declarations are not allowed"
        raise BodyRejected(400, [ApiError.of("forbidden_xml", reason=reason)]) from exc
    except ExternalReferenceForbidden as exc:
        reason = "external references are not allowed"
        raise BodyRejected(400, [ApiError.of("forbidden_xml", reason=reason)]) from exc
    except ParseError as exc:
        raise BodyRejected(
            400, [ApiError.of("malformed_body", reason=str(exc))]
        ) from exc
    return root


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse a JSON object, rejecting other JSON values and duplicate keys."""

    def reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        value = json.loads(text, object_pairs_hook=reject_duplicates)
    except ValueError as exc:
        raise BodyRejected(
            400, [ApiError.of("malformed_body", reason=str(exc))]
        ) from exc
    if not isinstance(value, dict):
        reason = f"expected a JSON object, found {type(value).__name__}"
        raise BodyRejected(400, [ApiError.of("malformed_body", reason=reason)])
    return value


def is_xml_text(value: str) -> bool:
    """Tell whether every character of ``value`` is allowed in XML 1.0 text."""
    return _XML_CHAR.search(value) is None


class Contracts:
    """The compiled XSDs and JSON Schemas, and validation against them."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR) -> None:
        import jsonschema
        import xmlschema

        self._responses = {
            root: xmlschema.XMLSchema11(str(schema_dir / name))
            for root, name in XSD_FILES.items()
        }
        self._update_xsd = xmlschema.XMLSchema11(str(schema_dir / UPDATE_XSD))
        document = json.loads((schema_dir / UPDATE_JSON_SCHEMA).read_text("utf-8"))
        self._update_json = jsonschema.Draft202012Validator(document)

    def parse_update_xml(self, text: str) -> UpdateBody:
        """Parse and validate an XML update body, raising BodyRejected if invalid."""
        root = parse_xml(text)
        if root.tag != "contextServiceRegistration":
            raise BodyRejected(400, [_wrong_root(root.tag)])
        errors = [_xsd_error(error) for error in self._update_xsd.iter_errors(root)]
        errors.extend(_duplicate_fields(root))
        if errors:
            raise BodyRejected(400, errors)
        warnings = tuple(
            f"/contextServiceRegistration/{child.tag}: element is not part of the "
            "resource and was ignored"
            for child in root
            if child.tag not in RESOURCE_FIELDS
        )
        value = root.findtext("connectionData", default="")
        return UpdateBody(value, warnings)

    def parse_update_json(self, text: str) -> UpdateBody:
        """Parse and validate a JSON update body, raising BodyRejected if invalid."""
        document = parse_json_object(text)
        errors = [
            _json_error(error) for error in self._update_json.iter_errors(document)
        ]
        if errors:
            raise BodyRejected(400, errors)
        warnings = tuple(
            f"/{key}: key is not part of the resource and was ignored"
            for key in document
            if key not in RESOURCE_FIELDS
        )
        return UpdateBody(document["connectionData"], warnings)

    def validate_response(self, text: str) -> list[str]:
        """Return the contract violations of an XML body the server emitted."""
        root = parse_xml(text)
        schema = self._responses.get(root.tag)
        if schema is None:
            return [f"/{root.tag}: no XSD defines this root element"]
        return [f"{error.path}: {error.reason}" for error in schema.iter_errors(root)]


class ContractsLoader:
    """Compile the contracts in a worker thread and hand them out once ready."""

    def __init__(self, factory: Callable[[], Contracts] = Contracts) -> None:
        self._factory = factory
        self._future: asyncio.Future[Contracts] | None = None

    def start(self) -> None:
        """Start compiling, unless that has already begun."""
        if self._future is None:
            loop = asyncio.get_running_loop()
            self._future = loop.run_in_executor(None, self._factory)

    @property
    def is_ready(self) -> bool:
        """Tell whether compiling finished successfully."""
        future = self._future
        return future is not None and future.done() and future.exception() is None

    async def get(self) -> Contracts:
        """Return the compiled contracts, waiting for the compile to finish."""
        self.start()
        assert self._future is not None
        return await asyncio.shield(self._future)


def _wrong_root(tag: str) -> ApiError:
    if tag.startswith("{"):
        namespace = tag[1:].partition("}")[0]
        reason = (
            f"the root element is in namespace {namespace!r}; "
            "contextServiceRegistration has no namespace"
        )
    else:
        reason = f"expected root element contextServiceRegistration, found {tag!r}"
    return ApiError.of("schema_violation", data=tag, path="/", reason=reason)


def _xsd_error(error: Any) -> ApiError:
    expected = getattr(error, "expected", None)
    if expected and getattr(error, "invalid_tag", None) is None:
        names = [getattr(particle, "name", None) for particle in expected]
        missing = [name for name in names if isinstance(name, str)]
        if missing:
            return ApiError.of("field_required", data=missing[0], field=missing[0])
    path = error.path or "/"
    return ApiError.of(
        "schema_violation", data=path.rsplit("/", 1)[-1], path=path, reason=error.reason
    )


def _duplicate_fields(root: Element) -> list[ApiError]:
    seen: set[str] = set()
    errors = []
    for child in root:
        if child.tag in RESOURCE_FIELDS and child.tag in seen:
            path = f"/contextServiceRegistration/{child.tag}"
            errors.append(
                ApiError.of(
                    "schema_violation",
                    data=child.tag,
                    path=path,
                    reason="element appears more than once",
                )
            )
        seen.add(child.tag)
    return errors


def _json_error(error: Any) -> ApiError:
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return ApiError.of("field_required", data=missing[0], field=missing[0])
    pointer = "/" + "/".join(str(part) for part in error.absolute_path)
    field = str(error.absolute_path[-1]) if error.absolute_path else ""
    return ApiError.of(
        "schema_violation", data=field or None, path=pointer, reason=error.message
    )
