"""The template's roles as IAM principals, for one deployment with every optional part switched on.

`deployment()` resolves template.yaml with a GitHub repository, a custom domain, an alarm email, provider
secrets and tracing, so every conditional statement is present. `principal(stack, logical_id)` is what IAM
evaluates for that role: its inline policies and its permissions boundary (the managed policy it names).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cfn import Stack, load_template
from tests.support.iam import Principal, policy_statements

ROOT = Path(__file__).parent.parent.parent
REPOSITORY = "acme/pennyworth"
DOMAIN = "api.example.com"
ZONE = "Z0123456789ABCDEFGHIJ"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf"
EVERYTHING_ON = {
    "GitHubRepository": REPOSITORY,
    "DomainName": DOMAIN,
    "HostedZoneId": ZONE,
    "AlarmEmail": "ops@example.com",
    "ProviderSecretArns": SECRET,
    "EnableTracing": "true",
    "EnableSnapStart": "true",
}


def deployment(template_path: Path = ROOT / "template.yaml", **parameters: Any) -> Stack:
    return Stack(load_template(template_path), {**EVERYTHING_ON, **parameters})


def managed_policy_statements(stack: Stack, arn: str) -> tuple[Any, ...]:
    """The statements of the template's managed policy with this ARN."""
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and stack.attribute(logical_id, "Arn") == arn:
            return policy_statements([stack.resource(logical_id)["PolicyDocument"]])
    raise KeyError(f"no managed policy {arn} in the template")


def principal(stack: Stack, logical_id: str) -> Principal:
    properties = stack.resource(logical_id)
    boundary_arn = properties.get("PermissionsBoundary")
    boundary = managed_policy_statements(stack, boundary_arn) if boundary_arn else None
    return Principal(logical_id, policy_statements(properties.get("Policies", [])), boundary)


def role_arn(stack: Stack, logical_id: str) -> str:
    return stack.attribute(logical_id, "Arn")


def stack_arn(stack: Stack) -> str:
    return f"arn:aws:cloudformation:{stack.region}:{stack.account}:stack/{stack.name}/0c1d2e3f-aaaa-bbbb-cccc-1234567890ab"


def roles_trusting(stack: Stack, service: str) -> list[str]:
    """Logical ids of the roles (created with these parameters) that `service` may assume."""
    found = []
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or not stack.exists(logical_id):
            continue
        trust = stack.resource(logical_id)["AssumeRolePolicyDocument"]["Statement"]
        if any(s.get("Principal", {}).get("Service") == service for s in trust):
            found.append(logical_id)
    return found


def administrator_deployed(stack: Stack) -> set[str]:
    """Resources the administrator's deploy creates and GitHub's deploys leave alone (see template.yaml)."""
    return {
        logical_id
        for logical_id, resource in stack.template["Resources"].items()
        if (resource.get("Metadata") or {}).get("pennyworth", {}).get("deployed-by") == "administrator"
    }
