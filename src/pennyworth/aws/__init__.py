"""AWS transport: SigV4-signed HTTP over aiohttp, the DynamoDB calls on the hot path, Secrets Manager."""
