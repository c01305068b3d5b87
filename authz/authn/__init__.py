"""Who calls: API keys (keys.py), stored as hashes and verified in constant
time, a per-worker ring of them dropped on every key change.

May import: authz.audit, authz.contract, authz.errors, models."""
