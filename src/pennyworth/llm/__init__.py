"""Provider-neutral calls and results, the service that answers them, the Bedrock wire and the LiteLLM providers."""
