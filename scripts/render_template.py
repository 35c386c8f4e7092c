"""Print the CloudFormation template SAM's transform makes of template.yaml, as JSON (run with .venv-sam's python).

    .venv-sam/bin/python scripts/render_template.py template.yaml [Name=Value ...]

The transform is the one CloudFormation runs for `Transform: AWS::Serverless-2016-10-31` (samtranslator, the
library behind it); intrinsic functions stay as they are, conditions included. Local code paths become S3 URIs,
as `sam deploy` uploads them. No AWS call is made: the template names no managed policies for SAM to look up.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """samtranslator's managed-policy lookup; the template resolves no policy names, so none is needed."""

    def load(self) -> dict[str, str]:
        return {}


_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def as_packaged(template: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam deploy` sends it: local code directories replaced by uploaded S3 objects."""
    for logical_id, resource in template["Resources"].items():
        name = _CODE_PROPERTIES.get(resource["Type"])
        if name and not str(resource["Properties"].get(name, "")).startswith("s3://"):
            resource["Properties"][name] = f"s3://artifact-bucket/pennyworth/{logical_id}.zip"
    return template


def main(argv: list[str]) -> int:
    template = as_packaged(yaml_parse(Path(argv[1]).read_text()))
    parameters = dict(pair.split("=", 1) for pair in argv[2:])
    rendered = transform(template, parameters, NoManagedPolicies())  # type: ignore[arg-type]
    json.dump(rendered, sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
