"""The GitHub workflows: pinned actions, OIDC-only deploy with least permissions, smoke test after deploy."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).parent.parent / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def uses(workflow: dict) -> list[str]:
    return [step["uses"] for step in steps(workflow) if "uses" in step]


def runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


def test_actions_are_pinned_to_commit_shas() -> None:
    for name in ("ci.yml", "deploy.yml"):
        for action in uses(load(name)):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), (name, action)


def test_ci_runs_make_test_and_a_hash_locked_audit_also_on_a_schedule() -> None:
    ci = load("ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    triggers = ci[True]  # YAML 1.1 reads the `on:` key as True
    assert {"push", "pull_request", "schedule", "workflow_call"} <= set(triggers)
    text = runs(ci)
    assert "make test" in text and "requirements/runtime.txt" in text and "requirements/dev.txt" in text
    assert "--require-hashes --no-deps -r requirements/tools/audit.txt" in text
    assert "pip install pip-audit" not in text  # never an unpinned, unhashed tool
    audit_lock = (WORKFLOWS.parent.parent / "requirements" / "tools" / "audit.txt").read_text()
    assert re.search(r"^pip-audit==[\d.]+ \\$", audit_lock, re.MULTILINE) and "--hash=sha256:" in audit_lock


def test_deploy_waits_for_ci_builds_before_credentials_and_checks_secrets() -> None:
    deploy = load("deploy.yml")
    triggers = deploy[True]
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert deploy["permissions"] == {}
    assert deploy["jobs"]["checks"]["uses"] == "./.github/workflows/ci.yml"
    job = deploy["jobs"]["deploy"]
    assert job["needs"] == ["checks"] and job["environment"] == "production"
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    names = [s.get("name", s.get("uses", "")) for s in job["steps"]]
    credentials = next(
        i for i, s in enumerate(job["steps"]) if "configure-aws-credentials@" in s.get("uses", "")
    )
    assert names[0] == "Required secrets are set"
    assert names.index("sam build") < credentials < names.index("sam deploy")
    check = job["steps"][0]
    for secret in ("AWS_DEPLOY_ROLE_ARN", "PENNYWORTH_SMOKE_KEY"):
        assert check["env"][secret] == f"${{{{ secrets.{secret} }}}}" and secret in check["run"]
    assert "exit" in check["run"] and "::error::" in check["run"]
    assert job["steps"][credentials]["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"
    assert "aws-access-key-id" not in job["steps"][credentials]["with"]
    deploy_step = job["steps"][names.index("sam deploy")]["run"]
    assert "sam deploy --config-env prod --no-fail-on-empty-changeset" in deploy_step
    assert (
        '--role-arn "$CLOUDFORMATION_ROLE_ARN"' in deploy_step
        and '--s3-bucket "$ARTIFACT_BUCKET"' in deploy_step
    )
    assert "--parameter-overrides" not in deploy_step  # parameters stay the administrator's
    text = runs(deploy)
    assert "/health" in text and "/v1/models" in text
    assert "${{" not in text  # secrets reach scripts through env, never by template expansion
