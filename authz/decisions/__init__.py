"""The check path as one worker runs it: the decision point (point.py) finds a
member's role and levels through a bounded cache (member_cache.py) kept fresh by
the change log (freshness.py), and asks the compiled table; the policy in force
is hot-reloaded, checked aside and swapped whole (reload.py).

May import: authz.engine, authz.contract, models (the member lookup and the
change log), the shared modules."""
