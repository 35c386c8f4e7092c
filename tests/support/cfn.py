"""Loading CloudFormation/SAM YAML (with its `!Ref`, `!Sub`, `!If`... tags) as plain data, for template tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass with CFN tags only


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy statement in the template, with the logical id it belongs to."""
    found = []
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [
            p.get("PolicyDocument", p) for p in properties.get("Policies", []) if isinstance(p, dict)
        ]
        if "AssumeRolePolicyDocument" in properties:
            documents.append(properties["AssumeRolePolicyDocument"])
        for document in documents:
            for statement in document.get("Statement", []):
                if "Fn::If" in statement:  # a conditional statement: check its "true" branch
                    statement = statement["Fn::If"][1]
                found.append((name, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
