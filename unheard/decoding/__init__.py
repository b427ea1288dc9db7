"""Decoding: from a trained SpeechLLM and examples to text."""
