"""Everything LiteLLM does for the gateway, and the only package that imports it.

LiteLLM knows model prices and ids (its pinned price map), estimates tokens, translates OpenAI-shaped requests
into Bedrock bodies and reaches non-Bedrock providers. Importing this package sets LiteLLM's flags before any
module here imports it: import-time network access is forbidden (use the price map bundled with the pinned
release), and LiteLLM's default "DEV" mode would load a `.env` file from the working directory: not here.
"""

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_MODE"] = "PRODUCTION"
