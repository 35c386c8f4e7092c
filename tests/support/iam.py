"""IAM's decision for one request against identity policies and an optional permissions boundary.

The documented evaluation logic for a principal in its own account: an explicit Deny in any policy wins; else
the request needs an Allow in an identity policy and, when the principal has a permissions boundary, an Allow
in the boundary too; else it is implicitly denied. Statements match on Action/NotAction (case-insensitive
wildcards), Resource/NotResource (case-sensitive wildcards) and Condition with the operators our templates
use: String*, Arn*, Bool, Null, the `IfExists` suffix, and the `ForAllValues:` / `ForAnyValue:` set
qualifiers (a missing key satisfies ForAllValues and negated operators, and nothing else).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

Context = Mapping[str, str | Sequence[str]]
Statement = Mapping[str, Any]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Context = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.action} on {self.resource} {dict(self.context) or ''}".strip()


@dataclass(frozen=True)
class Principal:
    """What IAM evaluates for a role: its identity policies' statements and its boundary's, if any."""

    name: str
    statements: tuple[Statement, ...]
    boundary: tuple[Statement, ...] | None = None


@cache
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(glob), re.IGNORECASE if ignore_case else 0)


def matches(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: `*` any run of characters, `?` one character (fnmatch's [] never occur in ARNs)."""
    return _pattern(glob.replace("[", "[[]"), ignore_case).match(value) is not None


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _compare(operator: str, expected: list[str], actual: str) -> bool:
    base = operator.removesuffix("IfExists")
    negated = "Not" in base
    positive = base.replace("Not", "")
    if positive in ("StringEquals", "ArnEquals"):
        hit = actual in expected
    elif positive == "StringEqualsIgnoreCase":
        hit = actual.lower() in {e.lower() for e in expected}
    elif positive in ("StringLike", "ArnLike"):
        hit = any(matches(e, actual) for e in expected)
    elif positive == "Bool":
        hit = actual.lower() in {e.lower() for e in expected}
    else:
        raise NotImplementedError(f"condition operator {operator} is not modelled")
    return not hit if negated else hit


def _condition_holds(qualified: str, key: str, expected_raw: Any, context: Context) -> bool:
    qualifier, _, operator = qualified.rpartition(":")
    expected = _values(expected_raw)
    present = key in context
    if operator == "Null":
        return (not present) == (expected[0] == "true")
    if not present:
        return qualifier == "ForAllValues" or operator.endswith("IfExists") or "Not" in operator
    raw = context[key]
    actual = [raw] if isinstance(raw, str) else list(raw)
    if qualifier == "ForAllValues":
        return all(_compare(operator, expected, a) for a in actual)
    if qualifier == "ForAnyValue":
        return any(_compare(operator, expected, a) for a in actual)
    (single,) = actual
    return _compare(operator, expected, single)


def _applies(statement: Statement, request: Request) -> bool:
    if "Action" in statement:
        action_hit = any(matches(a, request.action, ignore_case=True) for a in _values(statement["Action"]))
    else:
        action_hit = not any(
            matches(a, request.action, ignore_case=True) for a in _values(statement["NotAction"])
        )
    if not action_hit:
        return False
    if "Resource" in statement:
        resource_hit = any(matches(r, request.resource) for r in _values(statement["Resource"]))
    elif "NotResource" not in statement:  # a resource policy (trust policy): its resource is the role itself
        resource_hit = True
    else:
        resource_hit = not any(matches(r, request.resource) for r in _values(statement["NotResource"]))
    if not resource_hit:
        return False
    return all(
        _condition_holds(operator, key, expected, request.context)
        for operator, keys in (statement.get("Condition") or {}).items()
        for key, expected in keys.items()
    )


def _effects(statements: Iterable[Statement], request: Request) -> set[str]:
    return {s["Effect"] for s in statements if _applies(s, request)}


def decide(principal: Principal, request: Request) -> Decision:
    identity = _effects(principal.statements, request)
    boundary = _effects(principal.boundary, request) if principal.boundary is not None else {"Allow"}
    if "Deny" in identity or "Deny" in boundary:
        return Decision.EXPLICIT_DENY
    if "Allow" in identity and "Allow" in boundary:
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def allows(principal: Principal, request: Request) -> bool:
    return decide(principal, request) is Decision.ALLOW


def policy_statements(documents: Iterable[Mapping[str, Any]]) -> tuple[Statement, ...]:
    """The statements of policy documents (inline `Policies` entries or bare documents)."""
    found: list[Statement] = []
    for document in documents:
        body = document.get("PolicyDocument", document)
        found.extend(body.get("Statement", []))
    return tuple(found)
