"""Kubernetes-shaped errors: every failure leaves the server as a ``kind: Status`` body."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


class ApiException(Exception):
    """An error answer; ``status()`` is the body the client receives."""

    def __init__(self, code: int, reason: str, message: str,
                 details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                     "status": "Failure", "message": self.message, "reason": self.reason,
                     "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def qualified(plural: str, group: str) -> str:
    """``deployments.apps`` / ``pods``: how Kubernetes names a resource in messages."""
    return f"{plural}.{group}" if group else plural


def _details(name: str, group: str, kind: str, **extra: Any) -> Obj:
    d: Obj = {"name": name, "kind": kind}
    if group:
        d["group"] = group
    d.update(extra)
    return d


def not_found(plural: str, group: str, name: str) -> ApiException:
    return ApiException(404, "NotFound", f'{qualified(plural, group)} "{name}" not found',
                        _details(name, group, plural))


def already_exists(plural: str, group: str, name: str) -> ApiException:
    return ApiException(409, "AlreadyExists",
                        f'{qualified(plural, group)} "{name}" already exists',
                        _details(name, group, plural))


def conflict(plural: str, group: str, name: str, why: str = "") -> ApiException:
    why = why or ("the object has been modified; please apply your changes to the latest "
                  "version and try again")
    return ApiException(409, "Conflict",
                        f'Operation cannot be fulfilled on {qualified(plural, group)} '
                        f'"{name}": {why}', _details(name, group, plural))


def invalid(kind: str, group: str, name: str, causes: list[Obj]) -> ApiException:
    """422 Invalid; ``causes`` are ``{reason, field, message}`` as Kubernetes lists them."""
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    qkind = f"{kind}.{group}" if group else kind
    return ApiException(422, "Invalid", f'{qkind} "{name}" is invalid: {summary}',
                        _details(name, group, kind, causes=causes))


def required(field: str, what: str = "") -> Obj:
    return {"reason": "FieldValueRequired", "field": field,
            "message": "Required value" + (f": {what}" if what else "")}


def invalid_value(field: str, value: Any, what: str) -> Obj:
    return {"reason": "FieldValueInvalid", "field": field,
            "message": f"Invalid value: {_go_repr(value)}: {what}"}


def _go_repr(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        inner = ", ".join(f'"{k}":"{v}"' for k, v in value.items())
        return "map[string]string{" + inner + "}"
    return str(value)


def bad_request(message: str) -> ApiException:
    return ApiException(400, "BadRequest", message)


def forbidden(message: str, details: Obj | None = None) -> ApiException:
    return ApiException(403, "Forbidden", message, details)


def unauthorized() -> ApiException:
    return ApiException(401, "Unauthorized", "Unauthorized")


def method_not_allowed(method: str) -> ApiException:
    return ApiException(405, "MethodNotAllowed",
                        f"the server does not allow this method on the requested resource "
                        f"({method})")


def unsupported_media_type(ctype: str) -> ApiException:
    return ApiException(415, "UnsupportedMediaType",
                        f'the body of the request was in an unknown format - accepted media '
                        f'types include: application/json-patch+json, '
                        f'application/merge-patch+json, application/apply-patch+yaml '
                        f'(got "{ctype}")')


def expired(requested: int, oldest: int) -> ApiException:
    return ApiException(410, "Expired",
                        f"too old resource version: {requested} ({oldest})")


def path_not_found(path: str) -> ApiException:
    return ApiException(404, "NotFound", "the server could not find the requested resource",
                        {"causes": [{"reason": "UnexpectedServerResponse",
                                     "message": f"404 page not found: {path}"}]})
