"""CloudFormation/SAM YAML as plain data, and a small resolver of its intrinsics for one set of parameters.

`load_template` reads `!Ref`, `!Sub`, `!If`... as their long forms. `Stack` resolves a template the way
CloudFormation would for given parameter values — conditions, `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If`,
`Fn::Join`, `AWS::NoValue` — with made-up but well-formed physical ids and ARNs, so IAM policies can be evaluated
against concrete ARNs (tests/support/iam.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
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
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader + CFN tags
    return loaded


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy statement in the template, with the logical id it belongs to."""
    found = []
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [
            p.get("PolicyDocument", p) for p in properties.get("Policies", []) if isinstance(p, dict)
        ]
        for key in ("AssumeRolePolicyDocument", "PolicyDocument", "KeyPolicy"):
            if key in properties:
                documents.append(properties[key])
        for document in documents:
            for statement in document.get("Statement", []):
                if "Fn::If" in statement:  # a conditional statement: check its "true" branch
                    statement = statement["Fn::If"][1]
                found.append((name, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _NoValue:
    """`AWS::NoValue`: removed from the mapping or list that holds it."""


NO_VALUE = _NoValue()
ACCOUNT = "123456789012"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class Stack:
    """One deployment of a template: its parameter values and the ids CloudFormation would give its resources."""

    template: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    name: str = "pennyworth"
    region: str = "us-east-1"
    account: str = ACCOUNT
    partition: str = "aws"

    def parameter(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        declared = self.template["Parameters"][name]
        value = self.parameters.get(name, declared.get("Default", ""))
        if declared["Type"] == "CommaDelimitedList" and isinstance(value, str):
            return value.split(",") if value else [""]
        return str(value) if declared["Type"] == "String" else value

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def exists(self, logical_id: str) -> bool:
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def resource(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties, resolved."""
        assert self.exists(logical_id), f"{logical_id} is not created with these parameters"
        resolved: dict[str, Any] = self.resolve(self.template["Resources"][logical_id].get("Properties", {}))
        return resolved

    def physical_name(self, logical_id: str) -> str:
        return f"{self.name}-{logical_id}-1A2B3C4D5E6F"

    def ref(self, name: str) -> Any:
        if name in self.template.get("Parameters", {}) or name.startswith("AWS::"):
            return self.parameter(name)
        if name.endswith(".Alias"):
            return f"{self.attribute(name.removesuffix('.Alias'), 'Arn')}:live"
        if name.endswith(".Stage"):
            return "prod"
        kind = self.template["Resources"][name]["Type"]
        if kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::OIDCProvider", "AWS::SNS::Topic"):
            return self.attribute(name, "Arn")
        if kind == "AWS::Serverless::LayerVersion":
            return self.attribute(name, "Arn")
        if kind in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            return "a1b2c3d4e5"
        if kind == "AWS::KMS::Key":
            return "1234abcd-12ab-34cd-56ef-1234567890ab"
        if kind == "AWS::ApiGateway::DomainName":
            return str(self.resource(name)["DomainName"])
        if kind == "AWS::S3::Bucket":
            return self.physical_name(name).lower()
        return self.physical_name(name)

    def attribute(self, logical_id: str, attribute: str) -> str:
        kind = self.template["Resources"][logical_id]["Type"]
        arn = f"arn:{self.partition}"
        here = f"{self.region}:{self.account}"
        properties = self.template["Resources"][logical_id].get("Properties", {})
        path = self.resolve(properties.get("Path", "/"))
        physical = self.physical_name(logical_id)
        arns = {
            "AWS::IAM::Role": lambda: f"{arn}:iam::{self.account}:role{path}{physical}",
            "AWS::IAM::ManagedPolicy": lambda: f"{arn}:iam::{self.account}:policy{path}{physical}",
            "AWS::IAM::OIDCProvider": lambda: (
                f"{arn}:iam::{self.account}:oidc-provider/token.actions.githubusercontent.com"
            ),
            "AWS::DynamoDB::Table": lambda: f"{arn}:dynamodb:{here}:table/{physical}",
            "AWS::Logs::LogGroup": lambda: f"{arn}:logs:{here}:log-group:{physical}:*",
            "AWS::S3::Bucket": lambda: f"{arn}:s3:::{physical.lower()}",
            "AWS::KMS::Key": lambda: f"{arn}:kms:{here}:key/{self.ref(logical_id)}",
            "AWS::SNS::Topic": lambda: (
                f"{arn}:sns:{here}:{self.resolve(properties.get('TopicName', logical_id))}"
            ),
            "AWS::Serverless::Function": lambda: f"{arn}:lambda:{here}:function:{physical}",
            "AWS::Serverless::LayerVersion": lambda: f"{arn}:lambda:{here}:layer:{self.name}-dependencies:1",
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]()
        return f"{physical}.{attribute}"

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function replaced by what CloudFormation would put there."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def substitute(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {k: self.resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.attribute(logical_id, attribute)
            if name.endswith("Aliaslive"):  # SAM's generated alias of an AutoPublishAlias function
                return str(self.ref(f"{name.removesuffix('Aliaslive')}.Alias"))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(one, text)


def _if(stack: Stack, argument: list[Any]) -> Any:
    condition, when_true, when_false = argument
    return stack.resolve(when_true if stack.condition(condition) else when_false)


def _get_att(stack: Stack, argument: list[str]) -> str:
    return stack.attribute(argument[0], argument[1])


def _join(stack: Stack, argument: list[Any]) -> str:
    separator, items = argument
    return str(separator).join(str(i) for i in as_list(stack.resolve(items)))


_FUNCTIONS: dict[str, Any] = {
    "Ref": lambda stack, name: stack.ref(name),
    "Condition": lambda stack, name: stack.condition(name),
    "Fn::Sub": lambda stack, argument: stack.substitute(argument),
    "Fn::GetAtt": _get_att,
    "Fn::If": _if,
    "Fn::Join": _join,
    "Fn::Equals": lambda stack, pair: (
        stack.resolve(pair[0]) == stack.resolve(pair[1])
        or str(stack.resolve(pair[0])) == str(stack.resolve(pair[1]))
    ),
    "Fn::Not": lambda stack, items: not stack.resolve(items[0]),
    "Fn::And": lambda stack, items: all(stack.resolve(i) for i in items),
    "Fn::Or": lambda stack, items: any(stack.resolve(i) for i in items),
}
