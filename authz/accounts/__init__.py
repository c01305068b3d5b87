"""Account management: the workflows of DOMAIN.md and the rules that protect a
site. authority.py runs every administrative operation (who acts, the policy's
verdict through DecisionTable.decide, one transaction with its audit record,
a refusal audited); rules.py holds the grant rules; members.py, access_requests.py,
contacts.py, sites.py, people.py and site_audit.py are the workflows;
memberships.py what they share; notifications.py the outbox; importer.py loads YAML; bulk_import.py and
bulk_export.py move memberships in bulk (CSV, JSON lines).

May import: authz.engine, authz.audit, authz.contract, models, the shared modules.
A workflow never knows which door called it."""
