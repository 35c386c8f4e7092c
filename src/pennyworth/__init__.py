"""pennyworth: a serverless gateway from OpenAI and Anthropic clients to Amazon Bedrock."""

__version__ = "0.1.0"
