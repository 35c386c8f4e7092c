"""The LLM layer: provider-neutral types, the LiteLLM boundary, the Bedrock wire and the service facade."""
