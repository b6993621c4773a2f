"""The contract: pydantic models of every document the tool reads or writes. No I/O here."""
