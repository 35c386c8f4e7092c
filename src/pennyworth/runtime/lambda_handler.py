"""Buffered Lambda entry point: Mangum over the same FastAPI app (sam local, events/, buffered deployments).

The streaming deployment runs the app under uvicorn through the Lambda Web Adapter instead (`run.sh`).
"""

from mangum import Mangum

from pennyworth.api.app import create_app

handler = Mangum(create_app(), lifespan="off")
