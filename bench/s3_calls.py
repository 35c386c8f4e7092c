"""CPU a file reference or an upload part costs the gateway in boto3 (the inputs bucket's client).

Runs moto's S3 in this process and measures the calling thread's CPU time (`time.thread_time`) per
HeadObject (every file reference) and per 5 MiB UploadPart (every Uploads API part), the figures behind
running boto3 off the event loop in `aws/s3.py` rather than a signed-aiohttp client.

    .venv/bin/python bench/s3_calls.py
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.update(  # moto accepts any signature: throwaway local credentials
    {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"}
)

import boto3

from pennyworth_dev.dynamodb import LocalDynamoDB
from pennyworth_dev.s3 import create_inputs_bucket

BUCKET = "bench-inputs"


def main() -> None:
    with LocalDynamoDB() as url:
        create_inputs_bucket(url, BUCKET)
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        s3.put_object(Bucket=BUCKET, Key="small", Body=b"x")
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key="big")["UploadId"]
        part = os.urandom(5 * 1024 * 1024)
        heads: list[float] = []
        parts: list[float] = []
        for _ in range(30):
            start = time.thread_time()
            s3.head_object(Bucket=BUCKET, Key="small")
            heads.append(time.thread_time() - start)
        for number in range(1, 9):
            start = time.thread_time()
            s3.upload_part(Bucket=BUCKET, Key="big", UploadId=upload, PartNumber=number, Body=part)
            parts.append(time.thread_time() - start)
        print(
            f"boto3 CPU in the calling thread: HeadObject median {statistics.median(heads) * 1000:.2f} ms, "
            f"UploadPart (5 MiB) median {statistics.median(parts) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
