"""Access requests: a person asks for access to a site; a primary or a secondary
with manage-access update grants or denies it, once (authz/access_requests.py)."""

UP = [
    """CREATE TABLE access_request (
        id {pk},
        site_id {fk} NOT NULL REFERENCES site (id) ON DELETE CASCADE,
        person_id {fk} NOT NULL REFERENCES person (id) ON DELETE CASCADE,
        justification TEXT,
        status VARCHAR(16) NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'granted', 'denied')),
        created_at {ts} NOT NULL,
        decided_at {ts},
        decided_by VARCHAR(320),
        deny_reason VARCHAR(64)
            CHECK (deny_reason IN ('requestor_unknown', 'access_not_necessary', 'no_business_relationship')),
        granted_role VARCHAR(16) CHECK (granted_role IN ('secondary', 'user')),
        granted_levels TEXT,
        CHECK ((status = 'pending') = (decided_at IS NULL)),
        CHECK ((status = 'pending') = (decided_by IS NULL)),
        CHECK ((status = 'denied') = (deny_reason IS NOT NULL)),
        CHECK ((status = 'granted') = (granted_role IS NOT NULL)),
        CHECK ((status = 'granted') = (granted_levels IS NOT NULL)))""",
    # The database itself refuses a second open request by one person for one site.
    "CREATE UNIQUE INDEX access_request_one_pending ON access_request (site_id, person_id) WHERE status = 'pending'",
    # A site's requests of one status, page by page (keyset on id).
    "CREATE INDEX access_request_site_status ON access_request (site_id, status, id)",
    "CREATE INDEX access_request_person ON access_request (person_id)",
]

DOWN = [
    "DROP TABLE access_request",
]
