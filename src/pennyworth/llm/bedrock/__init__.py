"""The Bedrock wire: signed HTTP and event-stream frames, Converse output reading, Claude's own format."""
