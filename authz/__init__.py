"""The authorization service's domain, by concern; ARCHITECTURE.md draws the map.

    contract/      the typed bodies and the acting party: what crosses the service layer
    engine/        the policy: load, validate, compile, test (suites), the decision table
    decisions/     the check path at run time: decision point, member cache, change feed, hot reload
    policy_tools/  the policy author's tools: semantic diff, impact on members, reports
    accounts/      account-management workflows and the rules that protect a site
    audit/         the hash-chained audit trail
    authn/         who calls: API keys
    service/       the one way in: an operation per method, for every door
    cli/           the command line, a door like api/ (the HTTP API, beside this package)

Shared by all of them: config.py (settings), errors.py (the domain's errors),
metrics.py (Prometheus tallies), ids.py (decision and request ids). Who may
import whom is written in pyproject.toml ([tool.importlinter]) and checked."""
