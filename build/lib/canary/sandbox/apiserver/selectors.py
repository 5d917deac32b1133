"""Label and field selectors with the syntax, semantics and error messages of Kubernetes.

Label selectors follow ``k8s.io/apimachinery/pkg/labels`` (``a=b``, ``a==b``, ``a!=b``,
``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``, ``a>1``, ``a<1``; comma = AND). Field selectors
follow ``k8s.io/apimachinery/pkg/fields`` (``=``, ``==``, ``!=``) with the per-kind field labels
the API server accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "label_selector_from_map",
    "label_selector_from_spec",
    "parse_field_selector",
    "parse_label_selector",
    "selector_to_string",
    "supported_field_labels",
]


class SelectorError(ValueError):
    """A selector that cannot be parsed or is not supported; the message names the bad part."""


# -- label selectors ----------------------------------------------------------------------

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_NAME_HELP = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def _validate_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        raise SelectorError(f"key: Invalid value: {key!r}: prefix part must be non-empty")
    if slash and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise SelectorError(
            f"key: Invalid value: {key!r}: prefix part a lowercase RFC 1123 subdomain must "
            "consist of lower case alphanumeric characters, '-' or '.', and must start and end "
            "with an alphanumeric character"
        )
    if not name:
        raise SelectorError(f"key: Invalid value: {key!r}: name part must be non-empty")
    if len(name) > 63:
        raise SelectorError(
            f"key: Invalid value: {key!r}: name part must be no more than 63 characters"
        )
    if not _NAME.fullmatch(name):
        raise SelectorError(f"key: Invalid value: {key!r}: name part {_NAME_HELP}")


def _validate_value(value: str) -> None:
    if len(value) > 63:
        raise SelectorError(
            f"values[0][{value}]: Invalid value: {value!r}: must be no more than 63 characters"
        )
    if value and not _NAME.fullmatch(value):
        raise SelectorError(
            f"values[0][{value}]: Invalid value: {value!r}: a valid label {_NAME_HELP}"
        )


@dataclass(frozen=True)
class Requirement:
    """One ``key op values`` term. op: =, ==, !=, in, notin, exists, !, gt, lt."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "==", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        # gt / lt: both sides must be integers.
        try:
            have, want = int(str(value)), int(self.values[0])
        except ValueError:
            return False
        return has and (have > want if self.op == "gt" else have < want)

    def __str__(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        if self.op in ("in", "notin"):
            return f"{self.key} {self.op} ({','.join(sorted(self.values))})"
        if self.op in ("gt", "lt"):
            return f"{self.key}{'>' if self.op == 'gt' else '<'}{self.values[0]}"
        return f"{self.key}{self.op}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """AND of requirements; no requirements matches everything."""

    requirements: tuple[Requirement, ...] = field(default_factory=tuple)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _make_selector(requirements: Iterable[Requirement]) -> LabelSelector:
    # Kubernetes keeps requirements sorted by key (stable): that is what String() prints.
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


def _requirement(key: str, op: str, values: Iterable[str]) -> Requirement:
    vals = tuple(dict.fromkeys(values))  # a set, as in Kubernetes
    _validate_key(key)
    if op in ("in", "notin") and not vals:
        raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
    if op in ("=", "==", "!=") and len(vals) != 1:
        raise SelectorError("exact-match compatibility requires one single value")
    if op in ("gt", "lt"):
        if len(vals) != 1:
            raise SelectorError("for 'Gt', 'Lt' operators, exactly one value is required")
        try:
            int(vals[0])
        except ValueError:
            raise SelectorError(
                f"for 'Gt', 'Lt' operators, the value must be an integer, got {vals[0]!r}"
            ) from None
    else:
        for v in vals:
            _validate_value(v)
    return Requirement(key, op, vals)


_SPECIAL = "!=(),<> \t\n\r"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith(("==", "!="), i):
            out.append(text[i : i + 2])
            i += 2
        elif c in "!=(),<>":
            out.append(c)
            i += 1
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIAL:
                j += 1
            out.append(text[i:j])
            i = j
    return out


def _is_ident(tok: str | None) -> bool:
    return tok is not None and tok not in ("==", "!=", "!", "=", "(", ")", ",", "<", ">")


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.pos += 1
        return tok

    @staticmethod
    def show(tok: str | None) -> str:
        return "" if tok is None else tok

    def parse(self) -> LabelSelector:
        reqs: list[Requirement] = []
        while True:
            tok = self.peek()
            if tok is None:
                return _make_selector(reqs)
            if not (_is_ident(tok) or tok == "!"):
                raise SelectorError(f"found '{tok}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            nxt = self.take()
            if nxt is None:
                return _make_selector(reqs)
            if nxt != ",":
                raise SelectorError(f"found '{nxt}', expected: ',' or 'end of string'")
            after = self.peek()
            if not (_is_ident(after) or after == "!"):
                raise SelectorError(f"found '{self.show(after)}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            key = self.take()
            if not _is_ident(key) or key in ("in", "notin"):
                raise SelectorError(f"found '{self.show(key)}', expected: identifier")
            return _requirement(key, "!", ())
        key = self.take()
        assert key is not None
        op = self.peek()
        if op is None or op == ",":
            return _requirement(key, "exists", ())
        self.take()
        if op in ("=", "==", "!="):
            value = self.peek()
            if value is None or value == ",":
                return _requirement(key, op, ("",))  # "a=" matches an empty value
            if not _is_ident(value):
                raise SelectorError(f"found '{value}', expected: identifier")
            self.take()
            return _requirement(key, op, (value,))
        if op in (">", "<"):
            value = self.take()
            if not _is_ident(value):
                raise SelectorError(f"found '{self.show(value)}', expected: identifier")
            return _requirement(key, "gt" if op == ">" else "lt", (value,))
        if op in ("in", "notin"):
            return _requirement(key, op, self.value_set())
        raise SelectorError(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")

    def value_set(self) -> list[str]:
        tok = self.take()
        if tok != "(":
            raise SelectorError(f"found '{self.show(tok)}', expected: '('")
        values: list[str] = []
        expect_value = True
        while True:
            tok = self.take()
            if tok is None:
                raise SelectorError("found '', expected: ',', ')' or identifier")
            if tok == ")":
                if expect_value and values:
                    values.append("")  # "(a,)" includes the empty value, as in Kubernetes
                return values
            if tok == ",":
                if expect_value:
                    values.append("")
                expect_value = True
                continue
            if not _is_ident(tok) or not expect_value:
                raise SelectorError(f"found '{tok}', expected: ',', ')' or identifier")
            values.append(tok)
            expect_value = False


def parse_label_selector(text: str) -> LabelSelector:
    """Parse a ``labelSelector`` query string; raises SelectorError naming the bad part."""
    if not isinstance(text, str):
        raise SelectorError(f"label selector must be a string, got {type(text).__name__}")
    return _LabelParser(text).parse()


def label_selector_from_map(labels: Mapping[str, str] | None) -> LabelSelector:
    """A plain ``key: value`` selector (Service.spec.selector); empty/None matches everything."""
    reqs = [_requirement(str(k), "=", (str(v),)) for k, v in (labels or {}).items()]
    return _make_selector(reqs)


_SPEC_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def label_selector_from_spec(sel: Mapping | None) -> LabelSelector:
    """Convert a metav1.LabelSelector dict (matchLabels + matchExpressions).

    An empty or None selector matches everything.
    """
    if not sel:
        return LabelSelector()
    if not isinstance(sel, Mapping):
        raise SelectorError(f"selector must be an object, got {type(sel).__name__}")
    reqs: list[Requirement] = []
    match_labels = sel.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError("matchLabels must be a map of strings")
    for key, value in match_labels.items():
        reqs.append(_requirement(str(key), "=", (str(value),)))
    expressions = sel.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise SelectorError("matchExpressions must be a list")
    for i, expr in enumerate(expressions):
        if not isinstance(expr, Mapping):
            raise SelectorError(f"matchExpressions[{i}] must be an object")
        operator = expr.get("operator")
        if operator not in _SPEC_OPS:
            raise SelectorError(f"{operator!r} is not a valid label selector operator")
        op = _SPEC_OPS[operator]
        values = [str(v) for v in expr.get("values") or []]
        if op in ("exists", "!") and values:
            raise SelectorError(
                f"matchExpressions[{i}].values: values set must be empty for exists and "
                "does not exist"
            )
        reqs.append(_requirement(str(expr.get("key", "")), op, values))
    return _make_selector(reqs)


def selector_to_string(sel: Mapping | None) -> str:
    """The string form of a metav1.LabelSelector, as in Scale ``status.selector``.

    Empty selector -> "" (matches everything), e.g. ``app=podinfo,tier in (a,b)``.
    """
    return str(label_selector_from_spec(sel))


# -- field selectors ----------------------------------------------------------------------

Getter = Callable[[dict], object]


def _path(*keys: str) -> Getter:
    def get(obj: dict) -> object:
        cur: object = obj
        for key in keys:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(key)
        return cur

    return get


def _either(*getters: Getter) -> Getter:
    def get(obj: dict) -> object:
        for g in getters:
            value = g(obj)
            if value not in (None, ""):
                return value
        return None

    return get


_META: dict[str, Getter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

# events.k8s.io/v1 objects carry "regarding", "deprecatedSource", "reportingController":
# accept both shapes under the core/v1 field labels, and the events.k8s.io labels too.
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_EVENT: dict[str, Getter] = {
    **{
        f"involvedObject.{k}": _either(_path("involvedObject", k), _path("regarding", k))
        for k in _INVOLVED
    },
    **{
        f"regarding.{k}": _either(_path("regarding", k), _path("involvedObject", k))
        for k in _INVOLVED
    },
    "reason": _path("reason"),
    "reportingComponent": _either(_path("reportingComponent"), _path("reportingController")),
    "reportingController": _either(_path("reportingController"), _path("reportingComponent")),
    "source": _either(_path("source", "component"), _path("deprecatedSource", "component")),
    "deprecatedSource": _either(
        _path("deprecatedSource", "component"), _path("source", "component")
    ),
    "type": _path("type"),
}

FIELD_LABELS: dict[str, dict[str, Getter]] = {
    "Event": _EVENT,
    "Pod": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "Secret": {"type": _path("type")},
    "Namespace": {"status.phase": _path("status", "phase")},
    "Node": {"spec.unschedulable": _path("spec", "unschedulable")},
    "ReplicaSet": {"status.replicas": _path("status", "replicas")},
    "ReplicationController": {"status.replicas": _path("status", "replicas")},
    "Job": {"status.successful": _path("status", "succeeded")},
}


def supported_field_labels(kind: str) -> list[str]:
    return [*_META, *FIELD_LABELS.get(kind, {})]


def _field_text(value: object) -> str:
    # Kubernetes compares the field's string form; unset fields are "" and bools "true"/"false".
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FieldTerm:
    field: str
    op: str  # "=" or "!="
    value: str
    getter: Getter

    def matches(self, obj: dict) -> bool:
        have = _field_text(self.getter(obj))
        return (have == self.value) if self.op == "=" else (have != self.value)

    def __str__(self) -> str:
        return f"{self.field}{'=' if self.op == '=' else '!='}{self.value}"


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = ()

    def matches(self, obj: dict) -> bool:
        return all(t.matches(obj) for t in self.terms)

    def empty(self) -> bool:
        return not self.terms

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str, whole: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "\\,=":
                raise SelectorError(f"invalid field selector: '{whole}'; invalid escape sequence")
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _find_operator(term: str) -> tuple[int, str] | None:
    """First unescaped operator in ``term``: "!=", "==" or "="."""
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return i, op
        i += 1
    return None


def parse_field_selector(text: str, kind: str) -> FieldSelector:
    """Parse a ``fieldSelector`` for ``kind``; unknown fields raise
    ``SelectorError("field label not supported: <field>")`` as the API server does."""
    if not isinstance(text, str):
        raise SelectorError(f"field selector must be a string, got {type(text).__name__}")
    labels = {**_META, **FIELD_LABELS.get(kind, {})}
    terms: list[FieldTerm] = []
    if not text.strip():
        return FieldSelector()
    for part in _split_unescaped(text, ","):
        found = _find_operator(part)
        if not found:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        at, op = found
        name = _unescape(part[:at], text).strip()
        value = _unescape(part[at + len(op) :], text)
        if name not in labels:
            raise SelectorError(f"field label not supported: {name}")
        terms.append(FieldTerm(name, "!=" if op == "!=" else "=", value, labels[name]))
    return FieldSelector(tuple(terms))
