"""Head office: the chain's profiles, publishing, events in, controls and numbers (docs/central.md)."""
