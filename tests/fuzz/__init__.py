"""Fuzzing the parsers that take attacker input: ``python -m tests.fuzz`` (``make fuzz``)."""
