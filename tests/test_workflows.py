"""The GitHub workflows: pinned actions, OIDC-only deploy with least permissions, smoke test after deploy."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).parent.parent / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def uses(workflow: dict) -> list[str]:
    return [step["uses"] for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]


def runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])


def test_actions_are_pinned_to_commit_shas() -> None:
    for name in ("ci.yml", "deploy.yml"):
        for action in uses(load(name)):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), (name, action)


def test_ci_runs_make_test_and_the_audit() -> None:
    ci = load("ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    text = runs(ci)
    assert "make test" in text and "pip-audit" in text and "requirements/runtime.txt" in text


def test_deploy_uses_oidc_and_smoke_tests() -> None:
    deploy = load("deploy.yml")
    triggers = deploy[True]  # YAML 1.1 reads the `on:` key as True
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    job = deploy["jobs"]["deploy"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    credentials = next(
        s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    )
    assert credentials["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"
    assert "aws-access-key-id" not in credentials["with"]
    text = runs(deploy)
    assert "make build" in text
    assert "sam deploy --config-env prod --no-fail-on-empty-changeset" in text
    assert "/health" in text and "/v1/models" in text
    assert "${{" not in text  # secrets reach scripts through env, never by template expansion
