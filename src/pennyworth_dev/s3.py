"""The inputs bucket on the local moto server (the one `LocalDynamoDB` runs answers S3 too), for tests and
`make serve`: created the way the stack creates it — private, encrypted, with the expiry rule."""

from __future__ import annotations

import boto3


def create_inputs_bucket(endpoint_url: str, name: str, region: str = "us-east-1") -> str:
    """Create the bucket (idempotent) on the local S3 endpoint; returns its name."""
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name)
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
    return name
