"""Development and test support for pennyworth — never shipped to Lambda.

`bedrock_double` is a wire-level fake of the Bedrock runtime API; `python -m pennyworth_dev` runs the
gateway against it (what `make serve` does without AWS credentials).
"""
