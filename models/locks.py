"""PostgreSQL advisory lock keys, in one place so that no two uses collide.
Where one transaction takes several, it takes them in this order (deadlock-free)."""

MIGRATION = 7_261_001  # concurrent `authz migrate` runs
CHANGE_LOG = 7_261_002  # change-log writers commit in seq order
AUDIT_CHAIN = 7_261_003  # the audit hash chain stays linear
