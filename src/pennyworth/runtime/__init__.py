"""Entry points (uvicorn under the Lambda Web Adapter, Mangum for buffered events), logging and SnapStart."""
