"""template.yaml invariants: streaming front door, Retain data, bounded function role, exact OIDC trust, throttles,
alarms that can notify, optional parts. What IAM would decide: test_deploy_escalation, test_oidc_subjects,
test_function_role and test_handler_permissions."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.support.cfn import as_list, load_template, statements
from tests.support.iam import Request, allows
from tests.support.roles import administrator_deployed, deployment, principal

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
    assert variables["AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"]["Fn::If"][:2] == [
        "IsStreaming",
        "/_pennyworth/snapstart/after-restore",
    ]
    # Lambda Web Adapter 1.x reads each of these (1.0.0 removed AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS and
    # deprecated the unprefixed names; PORT stays supported).
    assert {name for name in variables if name.startswith("AWS_LWA_")} == {
        "AWS_LWA_INVOKE_MODE",
        "AWS_LWA_READINESS_CHECK_PATH",
        "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS",
        "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH",
        "AWS_LWA_PORT",
    }
    streaming_layers = function["Layers"]["Fn::If"][1]
    adapter = streaming_layers[1]["Fn::Sub"]
    assert "LambdaAdapterLayerArm64:${WebAdapterLayerVersion}" in adapter
    assert template["Parameters"]["WebAdapterLayerVersion"]["Default"] == 30  # adapter 1.1.0, pinned
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


def test_no_allow_of_iam_actions_on_every_resource(template) -> None:
    checked = 0
    for name, statement in statements(template):
        actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
        allow = statement["Effect"] == "Allow"
        if allow and any(a.lower().startswith("iam:") for a in actions):
            checked += 1
            for resource in as_list(statement["Resource"]):
                text = (
                    resource["Fn::Sub"] if isinstance(resource, dict) and "Fn::Sub" in resource else resource
                )
                assert text != "*" and not str(text).endswith(":*") and ":role/*" not in str(text), (
                    name,
                    statement,
                )
        if allow and name != "AlarmTopicKey":  # a key policy names the account root, as KMS requires
            assert not any(a == "*" or a.endswith(":*") for a in actions), (name, statement)
    assert checked >= 3


def test_oidc_trust_is_exact(template) -> None:
    role = template["Resources"]["DeployRole"]
    assert role["Condition"] == "HasGitHub"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(trust["Condition"]) == {"StringEquals"}  # no StringLike, so no wildcards
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert conditions["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": "repo:${GitHubRepository}:environment:${GitHubEnvironment}"
    }
    assert template["Parameters"]["GitHubEnvironment"]["Default"] == "production"
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
        "CloudFormationRole": "HasGitHub",
        "ArtifactBucket": "HasGitHub",
        "ApiGatewayLoggingRole": "SetApiGatewayAccount",
        "ApiGatewayAccount": "SetApiGatewayAccount",
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


def _unconditional(statements: list[dict]) -> dict[str, dict]:
    return {s["Sid"]: s for s in (s["Fn::If"][1] if "Fn::If" in s else s for s in statements)}


def test_function_role_is_bounded_and_least_privilege(template) -> None:
    function = template["Resources"]["GatewayFunction"]["Properties"]
    assert function["Role"] == {
        "Fn::GetAtt": ["FunctionRole", "Arn"]
    }  # not SAM's: no X-Ray rights unless traced
    role = template["Resources"]["FunctionRole"]["Properties"]
    assert role["PermissionsBoundary"] == {"Ref": "FunctionPermissionsBoundary"}
    assert role["Path"] == {"Fn::Sub": "/${AWS::StackName}/workload/"}
    document = role["Policies"][0]["PolicyDocument"]["Statement"]
    policy = _unconditional(document)
    bedrock = policy["InvokeBedrockModels"]
    assert set(bedrock["Action"]) == {
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:CountTokens",
    }
    arns = [r["Fn::Sub"] for r in bedrock["Resource"]]
    assert all(":foundation-model/" in a or ":inference-profile/" in a for a in arns)
    assert not any(a.endswith("foundation-model/*") for a in arns)  # model families, not every model
    actions = {a for s in policy.values() for a in as_list(s["Action"])}
    assert not {"dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem"} & actions
    assert policy["ProviderSecrets"]["Resource"] == {"Ref": "ProviderSecretArns"}
    assert [s["Fn::If"][0] for s in document if "Fn::If" in s] == ["HasProviderSecrets", "UseTracing"]


def test_throttles_and_exposure(template) -> None:
    parameters = template["Parameters"]
    assert (parameters["ReservedConcurrency"]["Default"], parameters["ThrottlingRateLimit"]["Default"]) == (
        50,
        25,
    )
    assert parameters["ThrottlingBurstLimit"]["Default"] == 50
    function = template["Resources"]["GatewayFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    api = template["Resources"]["GatewayApi"]["Properties"]
    (settings,) = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert api["DisableExecuteApiEndpoint"] == {"Fn::If": ["HasDomain", True, False]}
    access_log = api["AccessLogSetting"]
    assert access_log["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(access_log["Format"])
    assert fields["sourceIp"] == "$context.identity.sourceIp" and fields["requestId"] == "$context.requestId"
    assert not any("header" in value.lower() or "authoriz" in value.lower() for value in fields.values())
    domain = template["Resources"]["ApiDomain"]["Properties"]
    assert domain["SecurityPolicy"] == "SecurityPolicy_TLS13_1_3_2025_09"  # TLS 1.3 only
    assert domain["EndpointAccessMode"] == "STRICT"


def test_alarms_can_reach_someone(template) -> None:
    assert template["Resources"]["FunctionLogGroup"]["Properties"]["RetentionInDays"] == {
        "Ref": "LogRetentionDays"
    }
    topic = template["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {
        "Ref": "AlarmTopicKey"
    }  # not alias/aws/sns: CloudWatch could not publish
    key_policy = template["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in key_policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)
    by_metric = {a["MetricName"]: a for a in alarms if "MetricName" in a}
    assert {"5XXError", "Latency", "Errors", "Throttles"} <= set(by_metric)
    assert by_metric["Latency"]["ExtendedStatistic"] == "p95"
    queries = {a["Metrics"][0]["Expression"]: a for a in alarms if "Metrics" in a}
    assert queries["SELECT SUM(LedgerWriteFailures) FROM pennyworth"]["Threshold"] == 1
    spend = queries["SELECT SUM(CostUSD) FROM pennyworth"]
    assert spend["Threshold"] == {"Ref": "SpendAlarmThresholdUSD"} and spend["Metrics"][0]["Period"] == 3600
    assert resources(template, "AWS::CloudWatch::Dashboard")
    function = template["Resources"]["GatewayFunction"]["Properties"]
    assert function["Tracing"] == {"Fn::If": ["UseTracing", "Active", "PassThrough"]}
    assert function["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "pennyworth"


def test_outputs(template) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "CustomDomainUrl", "DeployRoleArn", "TableName", "CliExports"} <= set(outputs)
    assert {"CloudFormationRoleArn", "ArtifactBucketName"} <= set(outputs)  # what deploy.yml reads
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
    assert default["resolve_s3"] is True and prod["resolve_s3"] is False  # prod: the stack's own bucket
    assert "parameter_overrides" not in prod  # GitHub's deploys keep the administrator's parameter values
    assert default["confirm_changeset"] is True and prod["confirm_changeset"] is False
    assert config["default"]["global"]["parameters"]["stack_name"] == "pennyworth"


def test_inputs_bucket_is_private_encrypted_and_expires(template) -> None:
    bucket = template["Resources"]["InputsBucket"]
    assert bucket["Type"] == "AWS::S3::Bucket" and "DeletionPolicy" not in bucket  # inputs are disposable
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert all(
        properties["PublicAccessBlockConfiguration"][flag] is True
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (expiry,) = properties["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled" and expiry["ExpirationInDays"] == {"Ref": "InputsExpirationDays"}
    assert expiry["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    assert template["Parameters"]["InputsExpirationDays"]["Default"] == 1
    policy = template["Resources"]["InputsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy[0]["Effect"] == "Deny" and policy[0]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    variables = template["Resources"]["GatewayFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PENNYWORTH_INPUTS_BUCKET"] == {"Ref": "InputsBucket"}
    assert variables["PENNYWORTH_INPUTS_EXPIRATION_DAYS"] == {"Ref": "InputsExpirationDays"}


def test_function_reaches_only_the_inputs_bucket() -> None:
    """Evaluated as IAM would (role policy within its boundary): the calls aws/s3.py makes, on this bucket only."""
    stack = deployment()
    role = principal(stack, "FunctionRole")
    bucket = stack.attribute("InputsBucket", "Arn")
    for action in (
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    ):
        assert allows(role, Request(action, f"{bucket}/files/k/file-1")), action
        assert not allows(role, Request(action, "arn:aws:s3:::someone-elses-bucket/files/k/file-1")), action
    assert allows(role, Request("s3:ListBucket", bucket))
    for action in (
        "s3:PutBucketPolicy",
        "s3:DeleteBucket",
        "s3:PutLifecycleConfiguration",
        "s3:GetObjectAcl",
    ):
        assert not allows(role, Request(action, bucket)) and not allows(role, Request(action, f"{bucket}/x"))
    for logical_id in (
        "InputsBucket",
        "InputsBucketPolicy",
    ):  # data, like the table: the administrator's deploy
        assert logical_id in administrator_deployed(stack)
