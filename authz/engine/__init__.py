"""The policy: read the files of policies/ (text.py, model.py, source.py,
catalogue.py), validate them (validation.py) and hold them to the domain's
invariants (invariants.py), ask Casbin every (role, action, level) and freeze the
answers into a DecisionTable (compiler.py, table.py), run the policy's own test
suites (suites.py), and say when a policy may be used at all: compiled, with
suites that pass and exercise every rule (acceptance.py).
`DecisionTable.decide` is the one function that answers a (role, levels,
action) cell, for checks and administrative authorization alike.

May import: authz.contract (Reason and the policy's description), authz.errors,
casbin, yaml. Never the database."""
