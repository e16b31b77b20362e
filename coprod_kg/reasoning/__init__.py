"""Reasoning: HermiT checks, and the entailments materialised at load time."""
