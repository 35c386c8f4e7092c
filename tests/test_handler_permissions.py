"""What CloudFormation needs to deploy the stack as the CloudFormation role, from the resource providers' own
lists: the registry schema of each resource type publishes the IAM actions its create, update and delete
handlers call (`handlers.*.permissions`; cfn-lint ships the schemas).

The template is transformed as CloudFormation would (SAM's translator, run with .venv-sam's python), every
optional part switched on. For each resource type it creates — except those only the administrator's deploy
creates (Metadata `pennyworth: {deployed-by: administrator}`) — every handler permission must be granted by a
statement of the CloudFormation role, unless listed below as deliberately withheld, with the reason. Grants that
no handler needs are printed (run with -s), not failed: some are needed by calls the schemas do not list.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.support.iam import matches
from tests.support.roles import EVERYTHING_ON, ROOT, administrator_deployed, deployment, principal

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
HANDLERS = ("create", "update", "delete")

# Handler permissions the CloudFormation role does not get, and why the deploy still works.
_NO_VPC = "the function runs outside a VPC and mounts no file system"
_NO_CODEDEPLOY = "the alias has no gradual deployment (no CodeDeploy DeploymentPreference)"
_NO_LOG_DELIVERY = "the log groups have no resource policy and deliver nowhere else"
WITHHELD = {
    "iam:DeleteRolePermissionsBoundary": "a GitHub deploy may never drop the function role's boundary",
    "codedeploy:CreateDeployment": _NO_CODEDEPLOY,
    "codedeploy:GetDeployment": _NO_CODEDEPLOY,
    "codedeploy:GetDeploymentConfig": _NO_CODEDEPLOY,
    "codedeploy:GetDeploymentGroup": _NO_CODEDEPLOY,
    "codedeploy:StopDeployment": _NO_CODEDEPLOY,
    "ec2:DescribeNetworkInterfaces": _NO_VPC,
    "ec2:DescribeSecurityGroups": _NO_VPC,
    "ec2:DescribeSubnets": _NO_VPC,
    "ec2:DescribeVpcs": _NO_VPC,
    "elasticfilesystem:DescribeMountTargets": _NO_VPC,
    "s3files:ListMountTargets": _NO_VPC,
    "kms:CreateGrant": "the function's environment is encrypted with the AWS-owned key",
    "kms:Encrypt": "the function's environment is encrypted with the AWS-owned key",
    "lambda:GetCodeSigningConfig": "the function has no code-signing configuration",
    "lambda:PassCapacityProvider": "the function does not run on Lambda Managed Instances",
    "logs:CreateLogDelivery": _NO_LOG_DELIVERY,
    "logs:PutResourcePolicy": _NO_LOG_DELIVERY,
    "logs:DeleteResourcePolicy": _NO_LOG_DELIVERY,
    "logs:DescribeResourcePolicies": _NO_LOG_DELIVERY,
    "firehose:TagDeliveryStream": _NO_LOG_DELIVERY,
    "s3:REST.PUT.OBJECT": _NO_LOG_DELIVERY,
    "logs:PutBearerTokenAuthentication": "the log groups accept no bearer-token ingestion",
}


def sam_python() -> Path:
    if not SAM_PYTHON.exists():
        pytest.skip("needs .venv-sam (make check-template runs this test)")
    return SAM_PYTHON


@cache
def rendered() -> dict[str, Any]:
    arguments = [f"{k}={v}" for k, v in EVERYTHING_ON.items()]
    result = subprocess.run(
        [
            str(sam_python()),
            str(ROOT / "scripts" / "render_template.py"),
            str(ROOT / "template.yaml"),
            *arguments,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@cache
def schema_directory() -> Path:
    sam_python()
    (found,) = (ROOT / ".venv-sam" / "lib").glob("python3*/site-packages/cfnlint/data/schemas")
    return found


def handler_permissions(resource_type: str) -> dict[str, set[str]]:
    """The registry schema's create/update/delete permissions for one resource type (us-east-1)."""
    index = json.loads((schema_directory() / "providers" / "us-east-1.json").read_text())
    schema = json.loads((schema_directory() / "resources" / f"{index[resource_type]}.json").read_text())
    handlers = schema.get("handlers", {})
    return {h: set(handlers.get(h, {}).get("permissions", [])) for h in HANDLERS}


def deployed_by_cloudformation_role() -> dict[str, str]:
    """Logical id -> type of every resource GitHub's deploys create, update or delete."""
    admin = administrator_deployed(deployment())
    return {
        logical_id: resource["Type"]
        for logical_id, resource in rendered()["Resources"].items()
        if logical_id not in admin
    }


def granted_actions() -> list[str]:
    role = principal(deployment(), "CloudFormationRole")
    return [
        action
        for statement in role.statements
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]


def is_granted(action: str, granted: list[str]) -> bool:
    return any(matches(pattern, action, ignore_case=True) for pattern in granted)


def needed() -> dict[str, set[str]]:
    """Permission -> the resource types whose handlers call it."""
    found: dict[str, set[str]] = {}
    for resource_type in set(deployed_by_cloudformation_role().values()):
        for permissions in handler_permissions(resource_type).values():
            for permission in permissions:
                found.setdefault(permission, set()).add(resource_type)
    return found


def test_every_resource_type_is_known_to_the_registry() -> None:
    types = set(deployed_by_cloudformation_role().values())
    assert {"AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::IAM::Role"} <= types
    assert all(any(handler_permissions(t).values()) for t in types)


def test_the_cloudformation_role_has_every_handler_permission() -> None:
    granted = granted_actions()
    missing = {
        permission: sorted(types)
        for permission, types in needed().items()
        if permission not in WITHHELD and not is_granted(permission, granted)
    }
    assert missing == {}


def test_withheld_permissions_are_needed_by_some_handler_and_not_granted() -> None:
    assert set(WITHHELD) <= set(needed())
    assert [p for p in WITHHELD if is_granted(p, granted_actions())] == []


def test_report_grants_no_handler_needs() -> None:
    required = needed()
    unused = sorted(
        a for a in set(granted_actions()) if not any(matches(a, p, ignore_case=True) for p in required)
    )
    print(f"\nCloudFormation role grants no handler lists ({len(unused)}): {', '.join(unused) or 'none'}")


def test_the_default_endpoint_is_switched_off_where_api_gateway_reads_it() -> None:
    """SAM does not set `DisableExecuteApiEndpoint` on the RestApi resource: it writes API Gateway's own OpenAPI
    extension into the imported body (OpenAPI 3.0: on the Server object), which API Gateway documents as the same
    switch, applied when the API is next deployed."""
    resources = rendered()["Resources"].values()
    (api,) = [r for r in resources if r["Type"] == "AWS::ApiGateway::RestApi"]
    body = api["Properties"]["Body"]
    assert str(body["openapi"]).startswith("3.0")
    (server,) = body["servers"]
    assert server["x-amazon-apigateway-endpoint-configuration"] == {
        "disableExecuteApiEndpoint": {"Fn::If": ["HasDomain", True, False]}
    }
    (deployment,) = [r for r in resources if r["Type"] == "AWS::ApiGateway::Deployment"]
    assert deployment["Properties"]["RestApiId"] == {"Ref": "GatewayApi"}
