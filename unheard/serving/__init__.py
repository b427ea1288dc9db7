"""Everyday use: transcribe and translate files, the Python API, the OpenAI-compatible server."""
