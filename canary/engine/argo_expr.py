"""A small, safe evaluator for the expr-lang conditions Argo Rollouts analysis uses.

Argo evaluates ``successCondition`` / ``failureCondition`` with expr-lang
(argoproj/argo-rollouts utils/evaluate/evaluate.go:116 ``EvalCondition``) over an environment
holding ``result`` (the measurement: a list of floats for a Prometheus vector, a float for a
scalar) and the helpers ``asInt``, ``asFloat``, ``isNaN``, ``isInf``, ``isNil``, ``default``.
This module parses that language's expression subset into a tree and walks it; nothing is ever
handed to Python's ``eval``. Supported: number/string/bool/nil literals, arrays, ``result[i]``
(negative indexes count from the end, as in expr), slices ``a[i:j]``, member access, unary
``- ! not``, ``** * / % + -``, comparisons, ``in`` / ``not in``, ``contains``, ``startsWith``,
``endsWith``, ``matches``, ``&& and || or``, ``??``, ``c ? a : b``, and the builtins ``len``,
``all``, ``any``, ``none``, ``one``, ``filter``, ``map``, ``count``, ``sum``, ``mean``, ``min``,
``max``, ``abs``, ``int``, ``float``, ``string`` with predicates written ``{# >= 0.99}`` or
``# >= 0.99``.

Errors raise :class:`ExprError` with expr-like messages; Argo turns them into an ``Error``
measurement.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ExprError(Exception):
    """The condition could not be compiled or evaluated."""


# -- tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>\*\*|&&|\|\||==|!=|<=|>=|\?\?|\.\.|[-+*/%<>!?:.,()\[\]{}\#^])
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
""", re.X)

_WORD_OPS = {"and", "or", "not", "in", "contains", "startsWith", "endsWith", "matches"}


@dataclass(frozen=True)
class Tok:
    kind: str  # num | str | op | name | end
    text: str
    pos: int


def tokenize(src: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            raise ExprError(f"unexpected character {src[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, m.group(0), pos))
        pos = m.end()
    out.append(Tok("end", "", len(src)))
    return out


# -- tree -------------------------------------------------------------------------------------

Node = tuple[Any, ...]  # ("lit", v) | ("name", n) | ("bin", op, a, b) | ("un", op, a) | ...

# Binary operator precedence (higher binds tighter), as expr-lang's parser orders them.
_BINARY = {
    "||": 10, "or": 10, "&&": 15, "and": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20,
    "in": 20, "not in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20,
    "..": 25, "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500,
}
_UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
_RIGHT = {"**", "^"}
_PREDICATE_FUNCS = {"all", "any", "none", "one", "filter", "map", "count"}


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = tokenize(src)
        self.i = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def next(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, text: str) -> None:
        t = self.next()
        if t.text != text or t.kind == "str":
            raise ExprError(f"unexpected token {t.text or 'EOF'!r}, expected {text!r} "
                            f"(position {t.pos})")

    def parse(self) -> Node:
        node = self.expression()
        t = self.peek()
        if t.kind != "end":
            raise ExprError(f"unexpected token {t.text!r} (position {t.pos})")
        return node

    def expression(self) -> Node:
        cond = self.binary(0)
        if self.peek().text == "?" and self.peek().kind == "op":
            self.next()
            a = self.expression()
            self.expect(":")
            b = self.expression()
            return ("cond", cond, a, b)
        return cond

    def _binop(self) -> str | None:
        t = self.peek()
        if t.kind == "op" and t.text in _BINARY:
            return t.text
        if t.kind == "name" and t.text in _BINARY:
            return t.text
        if t.kind == "name" and t.text == "not":
            nxt = self.toks[self.i + 1]
            if nxt.kind == "name" and nxt.text in ("in", "matches", "contains", "startsWith",
                                                   "endsWith"):
                return "not " + nxt.text
        return None

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            op = self._binop()
            if op is None:
                return left
            prec = _BINARY.get(op, 20)
            if prec < min_prec:
                return left
            self.next()
            if op.startswith("not "):
                self.next()
            right = self.binary(prec if op in _RIGHT else prec + 1)
            left = ("bin", op, left, right)

    def unary(self) -> Node:
        t = self.peek()
        if (t.kind == "op" and t.text in ("-", "+", "!")) or (t.kind == "name"
                                                             and t.text == "not"):
            self.next()
            # expr-lang: `not`/`!` bind looser than `*`, unary minus tighter; `**` tighter still
            operand = self.binary(_UNARY[t.text] + 1)
            return ("un", "!" if t.text == "not" else t.text, operand)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        t = self.next()
        if t.kind == "num":
            text = t.text
            if re.fullmatch(r"\d+", text):
                return ("lit", int(text))
            return ("lit", float(text))
        if t.kind == "str":
            return ("lit", _unquote(t.text))
        if t.kind == "op" and t.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if t.kind == "op" and t.text == "[":
            items: list[Node] = []
            if self.peek().text != "]":
                items.append(self.expression())
                while self.peek().text == ",":
                    self.next()
                    if self.peek().text == "]":
                        break
                    items.append(self.expression())
            self.expect("]")
            return ("array", items)
        if t.kind == "op" and t.text == "#":
            return ("pointer",)
        if t.kind == "op" and t.text == ".":
            # ".field" inside a predicate: a member of the current element
            name = self.next()
            if name.kind != "name":
                raise ExprError(f"unexpected token {name.text!r} (position {name.pos})")
            return ("member", ("pointer",), ("lit", name.text))
        if t.kind == "name":
            if t.text in ("true", "false"):
                return ("lit", t.text == "true")
            if t.text in ("nil", "null"):
                return ("lit", None)
            if self.peek().text == "(" and self.peek().kind == "op":
                self.next()
                return self.call(t.text)
            if t.text in _WORD_OPS:
                raise ExprError(f"unexpected token {t.text!r} (position {t.pos})")
            return ("name", t.text)
        raise ExprError(f"unexpected token {t.text or 'EOF'!r} (position {t.pos})")

    def call(self, fn: str) -> Node:
        args: list[Node] = []
        if self.peek().text != ")":
            while True:
                if fn in _PREDICATE_FUNCS and len(args) == 1:
                    args.append(("closure", self.closure()))
                else:
                    args.append(self.expression())
                if self.peek().text == ",":
                    self.next()
                    continue
                break
        self.expect(")")
        return ("call", fn, args)

    def closure(self) -> Node:
        if self.peek().text == "{" and self.peek().kind == "op":
            self.next()
            body = self.expression()
            self.expect("}")
            return body
        return self.expression()

    def postfix(self, node: Node) -> Node:
        while True:
            t = self.peek()
            if t.kind == "op" and t.text == "[":
                self.next()
                lo: Node | None = None
                if self.peek().text != ":":
                    lo = self.expression()
                if self.peek().text == ":":
                    self.next()
                    hi = None if self.peek().text == "]" else self.expression()
                    self.expect("]")
                    node = ("slice", node, lo, hi)
                    continue
                self.expect("]")
                node = ("index", node, lo)
            elif t.kind == "op" and t.text == "." :
                self.next()
                name = self.next()
                if name.kind != "name":
                    raise ExprError(f"unexpected token {name.text!r} (position {name.pos})")
                node = ("member", node, ("lit", name.text))
            elif t.kind == "op" and t.text == "?" and self.toks[self.i + 1].text == ".":
                self.next()
                self.next()
                name = self.next()
                node = ("member", node, ("lit", name.text), True)
            else:
                return node


def _unquote(text: str) -> str:
    body = text[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)


def parse(src: str) -> Node:
    """Compile ``src`` into a tree; raises :class:`ExprError` on a syntax error."""
    if not src.strip():
        raise ExprError("unexpected token EOF")
    return _Parser(src).parse()


# -- evaluation -------------------------------------------------------------------------------


def _type(v: Any) -> str:
    """Go's names for the types a condition sees, for expr-like error messages."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "[]float64" if all(isinstance(x, float) for x in v) and v else "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    return type(v).__name__


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


class _Eval:
    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env
        self.pointer: list[Any] = []

    def run(self, node: Node) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "name":
            if node[1] not in self.env:
                raise ExprError(f"unknown name {node[1]}")
            return self.env[node[1]]
        if kind == "pointer":
            if not self.pointer:
                raise ExprError("cannot use pointer accessor outside predicate")
            return self.pointer[-1]
        if kind == "array":
            return [self.run(n) for n in node[1]]
        if kind == "un":
            v = self.run(node[2])
            if node[1] == "!":
                if not isinstance(v, bool):
                    raise ExprError(f"invalid operation: ! ({_type(v)})")
                return not v
            if not _num(v):
                raise ExprError(f"invalid operation: {node[1]} ({_type(v)})")
            return -v if node[1] == "-" else v
        if kind == "bin":
            return self.binary(node[1], node[2], node[3])
        if kind == "cond":
            c = self.run(node[1])
            if not isinstance(c, bool):
                raise ExprError(f"non-bool expression (type {_type(c)}) used as condition")
            return self.run(node[2] if c else node[3])
        if kind == "index":
            return self.index(self.run(node[1]), self.run(node[2]))
        if kind == "slice":
            return self.slice(node)
        if kind == "member":
            obj = self.run(node[1])
            if obj is None and len(node) > 3:
                return None
            return self.index(obj, node[2][1])
        if kind == "call":
            return self.call(node[1], node[2])
        raise ExprError(f"unsupported expression {kind}")

    def index(self, obj: Any, key: Any) -> Any:
        if isinstance(obj, list | str):
            if not _num(key) or isinstance(key, float) and not key.is_integer():
                raise ExprError(f"cannot use {_type(key)} as index to {_type(obj)}")
            i = int(key)
            n = len(obj)
            j = i + n if i < 0 else i
            if not 0 <= j < n:
                raise ExprError(f"index out of range: {i} (array length is {n})")
            return obj[j]
        if isinstance(obj, dict):
            return obj.get(key)
        if obj is None:
            raise ExprError(f"cannot fetch {key} from nil")
        raise ExprError(f"cannot fetch {key} from {_type(obj)}")

    def slice(self, node: Node) -> Any:
        obj = self.run(node[1])
        if not isinstance(obj, list | str):
            raise ExprError(f"cannot slice {_type(obj)}")
        n = len(obj)
        lo = 0 if node[2] is None else self.run(node[2])
        hi = n if node[3] is None else self.run(node[3])
        if not _num(lo) or not _num(hi):
            raise ExprError("slice bounds must be integers")
        lo, hi = int(lo), int(hi)
        lo = lo + n if lo < 0 else lo
        hi = hi + n if hi < 0 else hi
        lo, hi = max(0, min(lo, n)), max(0, min(hi, n))
        return obj[lo:hi] if lo <= hi else obj[0:0]

    def binary(self, op: str, a_node: Node, b_node: Node) -> Any:
        if op in ("&&", "and", "||", "or"):
            a = self.run(a_node)
            if not isinstance(a, bool):
                raise ExprError(f"invalid operation: {op} (mismatched types {_type(a)} and bool)")
            if (op in ("&&", "and") and not a) or (op in ("||", "or") and a):
                return a
            b = self.run(b_node)
            if not isinstance(b, bool):
                raise ExprError(f"invalid operation: {op} (mismatched types bool and {_type(b)})")
            return b
        if op == "??":
            a = self.run(a_node)
            return self.run(b_node) if a is None else a
        a, b = self.run(a_node), self.run(b_node)
        if op in ("==", "!="):
            eq = (float(a) == float(b)) if _num(a) and _num(b) else (
                type(a) is type(b) and a == b) or (a is None and b is None)
            return eq if op == "==" else not eq
        if op in ("in", "not in"):
            if isinstance(b, list):
                found = any((_num(a) and _num(x) and float(a) == float(x)) or a == x for x in b)
            elif isinstance(b, dict):
                found = a in b
            else:
                raise ExprError(f"invalid operation: in (mismatched types {_type(a)} and "
                                f"{_type(b)})")
            return found if op == "in" else not found
        if op.removeprefix("not ") in ("contains", "startsWith", "endsWith", "matches"):
            base = op.removeprefix("not ")
            if not isinstance(a, str) or not isinstance(b, str):
                raise ExprError(f"invalid operation: {base} (mismatched types {_type(a)} and "
                                f"{_type(b)})")
            if base == "contains":
                r = b in a
            elif base == "startsWith":
                r = a.startswith(b)
            elif base == "endsWith":
                r = a.endswith(b)
            else:
                try:
                    r = re.search(b, a) is not None
                except re.error as e:
                    raise ExprError(f"error parsing regexp: {e}") from None
            return r if op == base else not r
        if op in ("<", ">", "<=", ">="):
            if not ((_num(a) and _num(b)) or (isinstance(a, str) and isinstance(b, str))):
                raise ExprError(f"invalid operation: {op} (mismatched types {_type(a)} and "
                                f"{_type(b)})")
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if op == "..":
            if not (isinstance(a, int) and isinstance(b, int)):
                raise ExprError("invalid operation: .. (integers required)")
            return list(range(a, b + 1))
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        if op == "+" and isinstance(a, list) and isinstance(b, list):
            return a + b
        if not (_num(a) and _num(b)):
            raise ExprError(f"invalid operation: {op} (mismatched types {_type(a)} and "
                            f"{_type(b)})")
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            # expr's division is always float64 (and x/0 is +Inf/NaN as in Go)
            if float(b) == 0.0:
                if float(a) == 0.0 or math.isnan(float(a)):
                    return math.nan
                return math.copysign(math.inf, float(a)) * math.copysign(1.0, float(b))
            return float(a) / float(b)
        if op == "%":
            if not (isinstance(a, int) and isinstance(b, int)):
                raise ExprError(f"invalid operation: % (mismatched types {_type(a)} and "
                                f"{_type(b)})")
            if b == 0:
                raise ExprError("integer divide by zero")
            return int(math.fmod(a, b))
        if op in ("**", "^"):
            try:
                return float(a) ** float(b)
            except (OverflowError, ZeroDivisionError):
                return math.inf
        raise ExprError(f"unknown operator {op}")

    def call(self, fn: str, args: list[Node]) -> Any:
        if fn in _PREDICATE_FUNCS:
            return self.predicate(fn, args)
        values = [self.run(a) for a in args]
        builtin = _BUILTINS.get(fn)
        if builtin is not None and fn not in self.env:
            return builtin(values)
        f = self.env.get(fn)
        if not callable(f):
            raise ExprError(f"unknown func {fn}")
        return f(*values)

    def predicate(self, fn: str, args: list[Node]) -> Any:
        if len(args) != 2:
            raise ExprError(f"invalid number of arguments for {fn} (expected 2, got "
                            f"{len(args)})")
        seq = self.run(args[0])
        if seq is None:
            seq = []
        if not isinstance(seq, list):
            raise ExprError(f"builtin {fn} takes only array (got {_type(seq)})")
        body = args[1][1]
        results = []
        for item in seq:
            self.pointer.append(item)
            try:
                results.append(self.run(body))
            finally:
                self.pointer.pop()
        if fn == "map":
            return results
        for r in results:
            if not isinstance(r, bool):
                raise ExprError(f"predicate should return boolean (got {_type(r)})")
        if fn == "all":
            return all(results)
        if fn == "any":
            return any(results)
        if fn == "none":
            return not any(results)
        if fn == "one":
            return sum(1 for r in results if r) == 1
        if fn == "count":
            return sum(1 for r in results if r)
        return [x for x, r in zip(seq, results, strict=True) if r]  # filter


def _len(v: list[Any]) -> int:
    _arity("len", v, 1)
    x = v[0]
    if isinstance(x, list | str | dict):
        return len(x)
    raise ExprError(f"invalid argument for len (type {_type(x)})")


def _arity(fn: str, v: list[Any], n: int) -> None:
    if len(v) != n:
        raise ExprError(f"invalid number of arguments for {fn} (expected {n}, got {len(v)})")


def _numbers(fn: str, v: list[Any]) -> list[float]:
    items = v[0] if len(v) == 1 and isinstance(v[0], list) else v
    if not items and fn in ("min", "max"):
        raise ExprError(f"not enough arguments to call {fn}")
    for x in items:
        if not _num(x):
            raise ExprError(f"invalid argument for {fn} (type {_type(x)})")
    return items


def _mean(v: list[Any]) -> float:
    items = _numbers("mean", v)
    return math.nan if not items else float(sum(items)) / len(items)


def _abs(v: list[Any]) -> Any:
    _arity("abs", v, 1)
    if not _num(v[0]):
        raise ExprError(f"invalid argument for abs (type {_type(v[0])})")
    return abs(v[0])


def _to_int(v: list[Any]) -> int:
    _arity("int", v, 1)
    x = v[0]
    if _num(x):
        if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
            raise ExprError(f"cannot convert {x} to int")
        return int(x)
    if isinstance(x, str):
        try:
            return int(x)
        except ValueError:
            raise ExprError(f'strconv.Atoi: parsing "{x}": invalid syntax') from None
    raise ExprError(f"invalid operation: int({_type(x)})")


def _to_float(v: list[Any]) -> float:
    _arity("float", v, 1)
    x = v[0]
    if _num(x):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            raise ExprError(f'strconv.ParseFloat: parsing "{x}": invalid syntax') from None
    raise ExprError(f"invalid operation: float({_type(x)})")


def _to_string(v: list[Any]) -> str:
    _arity("string", v, 1)
    return format_value(v[0])


_BUILTINS: dict[str, Callable[[list[Any]], Any]] = {
    "len": _len,
    "sum": lambda v: sum(_numbers("sum", v)),
    "mean": _mean,
    "min": lambda v: min(_numbers("min", v)),
    "max": lambda v: max(_numbers("max", v)),
    "abs": _abs,
    "int": _to_int,
    "float": _to_float,
    "string": _to_string,
}


def format_value(v: Any) -> str:
    """A value as Go prints it: floats in shortest form, lists as ``[a,b]``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "+Inf" if v > 0 else "-Inf"
        return repr(v).removesuffix(".0") if v.is_integer() and abs(v) < 1e21 else repr(v)
    if isinstance(v, list):
        return "[" + ",".join(format_value(x) for x in v) + "]"
    if v is None:
        return "<nil>"
    return str(v)


# -- Argo's environment (utils/evaluate/evaluate.go:116) -------------------------------------


def _is_nil(v: Any) -> bool:
    return v is None


def _as_number(x: Any, convert: type, go_parser: str, name: str) -> Any:
    """Argo's asInt/asFloat: numbers convert, strings parse as Go's strconv does."""
    if _num(x):
        return convert(x)
    if isinstance(x, str):
        try:
            return convert(x)
        except ValueError:
            raise ExprError(f'strconv.{go_parser}: parsing "{x}": invalid syntax') from None
    raise ExprError(f"{name}() not supported on {_type(x)} {format_value(x)}")


def _as_int(x: Any) -> int:
    return _as_number(x, int, "ParseInt", "asInt")


def _as_float(x: Any) -> float:
    return _as_number(x, float, "ParseFloat", "asFloat")


def _is_nan(x: Any) -> bool:
    if not isinstance(x, float):
        raise ExprError(f"cannot use {_type(x)} as argument (type float64) to call isNaN")
    return math.isnan(x)


def _is_inf(x: Any) -> bool:
    if not isinstance(x, float):
        raise ExprError(f"cannot use {_type(x)} as argument (type float64) to call isInf")
    return math.isinf(x)


def argo_env(result: Any) -> dict[str, Any]:
    """Argo's condition environment. ``isNil`` and ``default`` look at the measurement itself,
    whatever they are passed (evaluate.go ``isNilFunc`` / ``defaultFunc``)."""
    return {
        "result": result,
        "asInt": _as_int,
        "asFloat": _as_float,
        "isNaN": _is_nan,
        "isInf": _is_inf,
        "isNil": lambda _x=None: _is_nil(result),
        "default": lambda _x=None, d=None: d if _is_nil(result) else result,
    }


def eval_condition(result: Any, condition: str) -> bool:
    """Evaluate ``condition`` against ``result``; a non-bool outcome is an error, as in Argo."""
    out = _Eval(argo_env(result)).run(parse(condition))
    if not isinstance(out, bool):
        raise ExprError(f"expected bool, but got {_type(out)}")
    return out


def check_syntax(condition: str) -> str | None:
    """None when ``condition`` compiles, else the syntax error (for spec validation)."""
    try:
        parse(condition)
    except ExprError as e:
        return str(e)
    return None
