"""Test aids (opt-in): hostile-input generators, planted defects, a loopback LLM server. Nothing in the product imports this package."""
