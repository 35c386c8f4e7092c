"""The GitHub deploy cannot be turned against the account: IAM's own evaluation of the template's policies.

What GitHub can reach is its role's rights plus those of every role it may pass to CloudFormation with a change
set (CloudFormation then acts as that role, for any template GitHub submits). None of them may create, change,
attach to, re-trust or pass a role other than the function's bounded workload roles; none may touch the
boundary; the boundary caps whatever a deploy attaches to the function. A copy of the deploy role as it was
before issue 12 shows the check refuses what it must.
"""

from __future__ import annotations

import pytest

from tests.support.cfn import Stack
from tests.support.iam import Decision, Principal, Request, allows, decide
from tests.support.roles import (
    DOMAIN,
    ZONE,
    deployment,
    principal,
    role_arn,
    roles_trusting,
    stack_arn,
)

ACCOUNT = "123456789012"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
ROLE_CHANGES = (
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRole",
    "iam:TagRole",
)
POLICY_CHANGES = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy")
# The one pass the design needs: GitHub hands the CloudFormation role to CloudFormation (then reachable above).
INTENDED_PASS = ("DeployRole", "CloudFormationRole", "cloudformation.amazonaws.com")
SERVICES = ("lambda.amazonaws.com", "cloudformation.amazonaws.com", "ec2.amazonaws.com")


@pytest.fixture(scope="module")
def stack() -> Stack:
    return deployment()


def reachable(stack: Stack) -> list[Principal]:
    """GitHub's role, and every role it can hand to CloudFormation through a change set of this stack."""
    github = principal(stack, "DeployRole")
    found = [github]
    for logical_id in roles_trusting(stack, "cloudformation.amazonaws.com"):
        arn = role_arn(stack, logical_id)
        passed = Request("iam:PassRole", arn, {"iam:PassedToService": "cloudformation.amazonaws.com"})
        change_set = Request(
            "cloudformation:CreateChangeSet", stack_arn(stack), {"cloudformation:RoleArn": arn}
        )
        if allows(github, passed) and allows(github, change_set):
            found.append(principal(stack, logical_id))
    return found


def protected_roles(stack: Stack) -> dict[str, str]:
    """Roles no deploy from GitHub may change: the template's own admin roles, and any other role at all."""
    targets = {
        logical_id: role_arn(stack, logical_id)
        for logical_id in ("DeployRole", "CloudFormationRole", "ApiGatewayLoggingRole")
    }
    targets |= {
        "a new role": f"arn:aws:iam::{ACCOUNT}:role/attacker",
        "a new role named like the stack's": f"arn:aws:iam::{ACCOUNT}:role/{stack.name}-Attacker",
        "a role at another path": f"arn:aws:iam::{ACCOUNT}:role/{stack.name}/other/Attacker",
    }
    return targets


def escalations(stack: Stack, principals: list[Principal]) -> list[str]:
    """Every dangerous request one of `principals` may make, as text (empty when there is none)."""
    boundary = stack.resource("FunctionRole")["PermissionsBoundary"]
    found = []
    for who in principals:
        for name, arn in protected_roles(stack).items():
            for action in ROLE_CHANGES:
                for context in ({}, {"iam:PermissionsBoundary": boundary}):
                    if allows(who, Request(action, arn, context)):
                        found.append(f"{who.name}: {action} on {name} {context or ''}")
            for service in SERVICES:
                if (who.name, name, service) == INTENDED_PASS:
                    continue
                if allows(who, Request("iam:PassRole", arn, {"iam:PassedToService": service})):
                    found.append(f"{who.name}: iam:PassRole {name} to {service}")
        for action in POLICY_CHANGES:
            if allows(who, Request(action, boundary)):
                found.append(f"{who.name}: {action} on the permissions boundary")
    return found


def test_github_reaches_its_role_and_the_cloudformation_role_only(stack) -> None:
    assert [p.name for p in reachable(stack)] == ["DeployRole", "CloudFormationRole"]


def test_no_reachable_principal_can_change_or_pass_a_protected_role(stack) -> None:
    assert escalations(stack, reachable(stack)) == []


def test_workload_roles_only_with_the_boundary(stack) -> None:
    cloudformation = principal(stack, "CloudFormationRole")
    boundary = stack.resource("FunctionRole")["PermissionsBoundary"]
    workload = f"arn:aws:iam::{ACCOUNT}:role/{stack.name}/workload/{stack.name}-FunctionRole-X"
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        assert allows(cloudformation, Request(action, workload, {"iam:PermissionsBoundary": boundary}))
        assert not allows(cloudformation, Request(action, workload))
        assert not allows(
            cloudformation, Request(action, workload, {"iam:PermissionsBoundary": ADMIN_POLICY})
        )
    assert (
        decide(cloudformation, Request("iam:DeleteRolePermissionsBoundary", workload))
        is Decision.EXPLICIT_DENY
    )
    assert allows(
        cloudformation, Request("iam:PassRole", workload, {"iam:PassedToService": "lambda.amazonaws.com"})
    )
    for service in ("cloudformation.amazonaws.com", "ec2.amazonaws.com"):
        assert not allows(cloudformation, Request("iam:PassRole", workload, {"iam:PassedToService": service}))


def test_the_boundary_caps_whatever_a_deploy_attaches(stack) -> None:
    everything = ({"Effect": "Allow", "Action": "*", "Resource": "*"},)
    function = principal(stack, "FunctionRole")
    capped = Principal("FunctionRole + AdministratorAccess", everything, function.boundary)
    table = stack.attribute("KeysTable", "Arn")
    assert allows(capped, Request("dynamodb:UpdateItem", table))
    refused = [
        Request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/x"),
        Request("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/x"),
        Request("dynamodb:UpdateItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/other"),
        Request("dynamodb:DeleteTable", table),
        Request("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:other"),
        Request("s3:GetObject", "arn:aws:s3:::any-bucket/key"),
        Request("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:other:*"),
    ]
    assert [str(r) for r in refused if allows(capped, r)] == []


def test_github_drives_only_this_stack_through_the_cloudformation_role(stack) -> None:
    github = principal(stack, "DeployRole")
    ours = role_arn(stack, "CloudFormationRole")
    this = stack_arn(stack)
    assert allows(github, Request("cloudformation:CreateChangeSet", this, {"cloudformation:RoleArn": ours}))
    assert allows(github, Request("cloudformation:ExecuteChangeSet", this))
    other_stack = this.replace(f"stack/{stack.name}/", "stack/other/")
    refused = [
        Request("cloudformation:CreateChangeSet", this),  # without a role: as GitHub's own identity
        Request(
            "cloudformation:CreateChangeSet", this, {"cloudformation:RoleArn": role_arn(stack, "DeployRole")}
        ),
        Request("cloudformation:CreateChangeSet", other_stack, {"cloudformation:RoleArn": ours}),
        Request("cloudformation:UpdateStack", this),
        Request("cloudformation:DeleteStack", this),
        Request("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{stack.name}-X"),
        Request("s3:PutObject", "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-x/k"),
        Request("iam:PassRole", ours, {"iam:PassedToService": "lambda.amazonaws.com"}),
    ]
    assert [str(r) for r in refused if allows(github, r)] == []
    bucket = stack.attribute("ArtifactBucket", "Arn")
    assert allows(github, Request("s3:PutObject", f"{bucket}/pennyworth/abc"))


def test_the_cloudformation_role_is_scoped_to_this_stack(stack) -> None:
    cloudformation = principal(stack, "CloudFormationRole")
    api = stack.ref("GatewayApi")
    region = "arn:aws:apigateway:us-east-1::"
    zone = f"arn:aws:route53:::hostedzone/{ZONE}"
    records = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    allowed = [
        Request("apigateway:PATCH", f"{region}/restapis/{api}/stages/prod"),
        Request("apigateway:PATCH", f"{region}/domainnames/{DOMAIN}/basepathmappings/(none)"),
    ]
    refused = [  # the table, the certificate and DNS are the administrator's (see template.yaml)
        Request("route53:ChangeResourceRecordSets", zone, {records: [DOMAIN]}),
        Request("acm:RequestCertificate", "*", {"acm:DomainNames": [DOMAIN]}),
        Request("dynamodb:UpdateTable", stack.attribute("KeysTable", "Arn")),
        Request("apigateway:DELETE", f"{region}/restapis/someoneelses"),
        Request("apigateway:PATCH", f"{region}/domainnames/other.example.com"),
        Request("apigateway:PATCH", f"{region}/account"),
        Request("logs:DeleteLogGroup", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:other"),
        Request("dynamodb:DeleteTable", stack.attribute("KeysTable", "Arn")),
        Request("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other"),
        Request("acm:DeleteCertificate", f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/x"),
        Request("acm:RequestCertificate", "*", {"acm:DomainNames": ["evil.example.com"]}),
    ]
    assert [str(r) for r in allowed if not allows(cloudformation, r)] == []
    assert [str(r) for r in refused if allows(cloudformation, r)] == []


# The deploy role as it was before issue 12 (one role for GitHub, IAM rights on role/<stack>-*): the check
# above must find that it can rewrite itself.
_OLD_DEPLOY_ROLE = (
    {
        "Effect": "Allow",
        "Action": [
            "iam:GetRole",
            "iam:CreateRole",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
        ],
        "Resource": f"arn:aws:iam::{ACCOUNT}:role/pennyworth-*",
    },
    {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": f"arn:aws:iam::{ACCOUNT}:role/pennyworth-*",
        "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    },
)


def test_the_check_refuses_the_old_deploy_role(stack) -> None:
    found = escalations(stack, [Principal("old DeployRole", _OLD_DEPLOY_ROLE)])
    assert "old DeployRole: iam:AttachRolePolicy on DeployRole " in found
    assert "old DeployRole: iam:UpdateAssumeRolePolicy on CloudFormationRole " in found
    assert "old DeployRole: iam:PassRole DeployRole to lambda.amazonaws.com" in found
