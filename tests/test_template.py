"""template.yaml invariants: streaming front door, Retain data, scoped IAM, exact OIDC trust, optional parts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.support.cfn import as_list, load_template, statements

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(ROOT / "template.yaml")


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_function_runtime_and_streaming_adapter(template) -> None:
    function = template["Resources"]["GatewayFunction"]["Properties"]
    assert (function["Runtime"], function["Architectures"], function["Timeout"]) == (
        "python3.13",
        ["arm64"],
        900,
    )
    assert function["Handler"] == {
        "Fn::If": ["IsStreaming", "run.sh", "pennyworth.runtime.lambda_handler.handler"]
    }
    variables = function["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"]["Fn::If"][:2] == ["IsStreaming", "/opt/bootstrap"]
    assert variables["AWS_LWA_INVOKE_MODE"]["Fn::If"][:2] == ["IsStreaming", "response_stream"]
    assert variables["AWS_LWA_READINESS_CHECK_PATH"]["Fn::If"][:2] == ["IsStreaming", "/health"]
    streaming_layers = function["Layers"]["Fn::If"][1]
    adapter = streaming_layers[1]["Fn::Sub"]
    assert "LambdaAdapterLayerArm64:${WebAdapterLayerVersion}" in adapter
    assert isinstance(
        template["Parameters"]["WebAdapterLayerVersion"]["Default"], int
    )  # pinned, not "latest"
    assert function["Layers"]["Fn::If"][2] == [{"Ref": "DependenciesLayer"}]  # buffered: no adapter
    assert function["AutoPublishAlias"] == "live"
    assert function["SnapStart"]["Fn::If"][0] == "UseSnapStart"
    assert template["Resources"]["GatewayFunction"]["Metadata"]["BuildMethod"] == "makefile"
    assert template["Resources"]["DependenciesLayer"]["Metadata"] == {
        "BuildMethod": "makefile",
        "BuildArchitecture": "arm64",
    }


def test_every_route_streams_through_one_integration_kind(template) -> None:
    api = template["Resources"]["GatewayApi"]["Properties"]
    assert api["EndpointConfiguration"]["Type"] == "REGIONAL"
    paths = api["DefinitionBody"]["paths"]
    assert set(paths) == {"/", "/{proxy+}"}
    for path in paths.values():
        integration = path["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert integration["responseTransferMode"] == {"Fn::If": ["IsStreaming", "STREAM", "BUFFERED"]}
        assert integration["timeoutInMillis"] == {"Fn::If": ["IsStreaming", 900000, 29000]}
        streaming_uri, buffered_uri = (branch["Fn::Sub"] for branch in integration["uri"]["Fn::If"][1:])
        assert "2021-11-15/functions/" in streaming_uri and streaming_uri.endswith(
            "/response-streaming-invocations"
        )
        assert buffered_uri.endswith("/invocations") and "2015-03-31" in buffered_uri
    permission = template["Resources"]["ApiInvokePermission"]["Properties"]
    assert (
        permission["Principal"] == "apigateway.amazonaws.com"
        and "${GatewayApi}" in permission["SourceArn"]["Fn::Sub"]
    )


def test_table_survives_stack_deletion(template) -> None:
    table = template["Resources"]["KeysTable"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in properties["KeySchema"]] == ["PK", "SK"]


def test_no_wildcard_resource_on_iam_actions(template) -> None:
    checked = 0
    for name, statement in statements(template):
        actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
        if any(a.lower().startswith("iam:") for a in actions):
            checked += 1
            for resource in as_list(statement["Resource"]):
                text = (
                    resource["Fn::Sub"] if isinstance(resource, dict) and "Fn::Sub" in resource else resource
                )
                assert text != "*" and not str(text).endswith(":*") and ":role/*" not in str(text), (
                    name,
                    statement,
                )
        assert not any(a == "*" or a.endswith(":*") for a in actions), (name, statement)
    assert checked >= 3


def test_pass_role_only_to_lambda_and_this_stack(template) -> None:
    (statement,) = [s for _, s in statements(template) if s.get("Action") == "iam:PassRole"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    assert statement["Resource"]["Fn::Sub"].endswith(":role/${AWS::StackName}-*")


def test_oidc_trust_is_exact(template) -> None:
    role = template["Resources"]["DeployRole"]
    assert role["Condition"] == "HasGitHub"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(trust["Condition"]) == {"StringEquals"}  # no StringLike, so no wildcards
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert conditions["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${GitHubBranch}"
    }
    provider = template["Resources"]["GitHubOidcProvider"]
    assert provider["Condition"] == "CreateOidcProvider"
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]


def test_optional_parts_are_wired_to_conditions(template) -> None:
    conditions = template["Conditions"]
    assert conditions["HasDomain"] == {
        "Fn::And": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "HostedZoneId"}, ""]}]},
        ]
    }
    assert conditions["CreateCertificate"]["Fn::And"][0] == {"Condition": "HasDomain"}
    expected = {
        "Certificate": "CreateCertificate",
        "ApiDomain": "HasDomain",
        "ApiBasePathMapping": "HasDomain",
        "ApiDnsRecord": "HasDomain",
        "GitHubOidcProvider": "CreateOidcProvider",
        "DeployRole": "HasGitHub",
        "AlarmEmailSubscription": "HasAlarmEmail",
    }
    assert {name: template["Resources"][name].get("Condition") for name in expected} == expected
    certificate = template["Resources"]["Certificate"]["Properties"]
    assert certificate["ValidationMethod"] == "DNS"
    assert certificate["DomainValidationOptions"][0]["HostedZoneId"] == {"Ref": "HostedZoneId"}
    domain = template["Resources"]["ApiDomain"]["Properties"]
    assert domain["RegionalCertificateArn"] == {
        "Fn::If": ["CreateCertificate", {"Ref": "Certificate"}, {"Ref": "CertificateArn"}]
    }
    records = template["Resources"]["ApiDnsRecord"]["Properties"]["RecordSets"]
    assert {r["Type"] for r in records} == {"A", "AAAA"} and all("AliasTarget" in r for r in records)


def test_function_role_is_least_privilege(template) -> None:
    policy = template["Resources"]["GatewayFunction"]["Properties"]["Policies"][0]["Statement"]
    bedrock, dynamodb, secrets = policy[0], policy[1], policy[2]["Fn::If"]
    assert set(bedrock["Action"]) == {
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:CountTokens",
    }
    arns = [r["Fn::Sub"] for r in bedrock["Resource"]]
    assert all(":foundation-model/" in a or ":inference-profile/" in a for a in arns)
    assert any(":inference-profile/" in a for a in arns) and any(":foundation-model/" in a for a in arns)
    assert not any(a.endswith("foundation-model/*") for a in arns)  # model families, not every model
    assert {"Fn::GetAtt": ["KeysTable", "Arn"]} in dynamodb["Resource"]
    assert all("KeysTable" in str(r) for r in dynamodb["Resource"])
    assert secrets[0] == "HasProviderSecrets" and secrets[1]["Resource"] == {"Ref": "ProviderSecretArns"}
    assert secrets[1]["Action"] == ["secretsmanager:GetSecretValue"]


def test_observability(template) -> None:
    assert template["Resources"]["FunctionLogGroup"]["Properties"]["RetentionInDays"] == {
        "Ref": "LogRetentionDays"
    }
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30
    alarms = {
        r["Properties"]["MetricName"]: r["Properties"]
        for r in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert {"5XXError", "Latency", "Errors", "Throttles"} <= set(alarms)
    assert alarms["Latency"]["ExtendedStatistic"] == "p95"
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    assert resources(template, "AWS::CloudWatch::Dashboard")
    function = template["Resources"]["GatewayFunction"]["Properties"]
    assert function["Tracing"] == {"Fn::If": ["UseTracing", "Active", "PassThrough"]}
    assert function["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "pennyworth"


def test_outputs(template) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "CustomDomainUrl", "DeployRoleArn", "TableName", "CliExports"} <= set(outputs)
    assert (
        outputs["CustomDomainUrl"]["Condition"] == "HasDomain"
        and outputs["DeployRoleArn"]["Condition"] == "HasGitHub"
    )
    assert "export " in outputs["CliExports"]["Value"]["Fn::Sub"]


def test_samconfig_environments() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    default, prod = config["default"]["deploy"]["parameters"], config["prod"]["deploy"]["parameters"]
    for environment in (default, prod):
        assert environment["capabilities"] == "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"
        assert environment["resolve_s3"] is True
    assert default["confirm_changeset"] is True and prod["confirm_changeset"] is False
    assert config["default"]["global"]["parameters"]["stack_name"] == "pennyworth"
