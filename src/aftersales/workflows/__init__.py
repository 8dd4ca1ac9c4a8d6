"""Workflows: the state machines of returns, complaints, the shipping guarantee and back-in-stock."""
