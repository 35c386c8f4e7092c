"""GitHub's OIDC subject for every workflow job that asks for a token, derived from the workflow file, against
the deploy role's trust policy: it must accept exactly those subjects and nothing broader.

GitHub's documented subject formats: a job that runs in an environment presents
`repo:<owner>/<repo>:environment:<name>`; otherwise a push to a branch presents
`repo:<owner>/<repo>:ref:refs/heads/<branch>` and a pull request `repo:<owner>/<repo>:pull_request`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cfn import Stack
from tests.support.iam import Principal, Request, allows
from tests.support.roles import REPOSITORY, deployment, role_arn

WORKFLOWS = Path(__file__).parent.parent / ".github" / "workflows"
AUDIENCE = "sts.amazonaws.com"
CLAIM = "token.actions.githubusercontent.com"


def workflows() -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(WORKFLOWS.glob("*.yml"))}


def asks_for_token(workflow: dict[str, Any], job: dict[str, Any]) -> bool:
    permissions = job.get("permissions", workflow.get("permissions")) or {}
    return permissions == "write-all" or (
        isinstance(permissions, dict) and permissions.get("id-token") == "write"
    )


def subjects(workflow: dict[str, Any], job: dict[str, Any], repository: str) -> set[str]:
    """The `sub` claims this job can present, from its environment or else from the workflow's triggers."""
    environment = job.get("environment")
    if environment:
        name = environment["name"] if isinstance(environment, dict) else environment
        return {f"repo:{repository}:environment:{name}"}
    triggers = workflow[True]  # YAML 1.1 reads the `on:` key as True
    found = set()
    for event, settings in (triggers if isinstance(triggers, dict) else {t: None for t in triggers}).items():
        if event == "push":
            branches = (settings or {}).get("branches")
            assert branches, "a push trigger without branches presents any branch's ref"
            found |= {f"repo:{repository}:ref:refs/heads/{b}" for b in branches}
        elif event in ("pull_request", "pull_request_target"):
            found.add(f"repo:{repository}:pull_request")
        else:  # workflow_dispatch and friends run on whatever ref is chosen
            found.add(f"repo:{repository}:ref:refs/heads/*")
    return found


def token_subjects(repository: str) -> dict[str, set[str]]:
    return {
        f"{name}:{job_id}": subjects(workflow, job, repository)
        for name, workflow in workflows().items()
        for job_id, job in workflow["jobs"].items()
        if asks_for_token(workflow, job)
    }


@pytest.fixture(scope="module")
def stack() -> Stack:
    return deployment()


def trust(stack: Stack) -> Principal:
    document = stack.resource("DeployRole")["AssumeRolePolicyDocument"]
    return Principal("DeployRole trust", tuple(document["Statement"]))


def assume(stack: Stack, subject: str, audience: str = AUDIENCE) -> Request:
    context = {f"{CLAIM}:sub": subject, f"{CLAIM}:aud": audience}
    return Request("sts:AssumeRoleWithWebIdentity", role_arn(stack, "DeployRole"), context)


def test_only_the_deploy_job_asks_for_a_token_and_it_runs_in_an_environment() -> None:
    assert token_subjects(REPOSITORY) == {
        "deploy.yml:deploy": {f"repo:{REPOSITORY}:environment:production"},
    }


def test_the_trust_policy_accepts_every_subject_the_workflows_present(stack) -> None:
    for job, job_subjects in token_subjects(REPOSITORY).items():
        for subject in job_subjects:
            assert allows(trust(stack), assume(stack, subject)), (job, subject)


def test_the_trust_policy_accepts_nothing_broader(stack) -> None:
    (statement,) = trust(stack).statements
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::{stack.account}:oidc-provider/{CLAIM}"}
    assert set(statement["Condition"]) == {"StringEquals"}  # no StringLike: no wildcard can widen it
    assert statement["Condition"]["StringEquals"] == {
        f"{CLAIM}:aud": AUDIENCE,
        f"{CLAIM}:sub": f"repo:{REPOSITORY}:environment:production",
    }
    presented = {s for job_subjects in token_subjects(REPOSITORY).values() for s in job_subjects}
    others = [
        f"repo:{REPOSITORY}:ref:refs/heads/main",
        f"repo:{REPOSITORY}:ref:refs/heads/feature",
        f"repo:{REPOSITORY}:pull_request",
        f"repo:{REPOSITORY}:environment:staging",
        f"repo:{REPOSITORY}:environment:production-copy",
        f"repo:{REPOSITORY}-fork:environment:production",
        "repo:someone/else:environment:production",
        f"repo:{REPOSITORY}:environment:*",
    ]
    assert [s for s in others if s not in presented and allows(trust(stack), assume(stack, s))] == []
    for subject in presented:
        assert not allows(trust(stack), assume(stack, subject, audience="https://github.com/acme"))


def test_the_subject_follows_the_environment_parameter() -> None:
    renamed = deployment(GitHubEnvironment="release")
    assert allows(trust(renamed), assume(renamed, f"repo:{REPOSITORY}:environment:release"))
    assert not allows(trust(renamed), assume(renamed, f"repo:{REPOSITORY}:environment:production"))


def test_subject_derivation_reads_the_job_not_just_the_trigger() -> None:
    workflow = {True: {"push": {"branches": ["main"]}}, "jobs": {}}
    assert subjects(workflow, {}, "a/b") == {"repo:a/b:ref:refs/heads/main"}
    assert subjects(workflow, {"environment": {"name": "prod"}}, "a/b") == {"repo:a/b:environment:prod"}
    dispatch = {True: {"workflow_dispatch": None}, "jobs": {}}
    assert subjects(dispatch, {}, "a/b") == {"repo:a/b:ref:refs/heads/*"}
