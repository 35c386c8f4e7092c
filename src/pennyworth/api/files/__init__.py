"""OpenAI's Files and Uploads APIs over the inputs bucket."""
