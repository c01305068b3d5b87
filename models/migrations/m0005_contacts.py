"""Site contacts (DOMAIN.md, "Contact updates"): the contact records of each site,
and when (and by whom) a site's contacts were last reviewed."""

UP = [
    # The eight fields are mandatory: authz.contacts refuses a record without one,
    # and the database refuses an empty one too. contact_types holds the contact's
    # type ids, comma-separated in the catalogue order of authz.contacts.CONTACT_TYPES.
    """CREATE TABLE site_contact (
        id {pk},
        site_id {fk} NOT NULL REFERENCES site (id) ON DELETE CASCADE,
        first_name VARCHAR(100) NOT NULL CHECK (first_name <> ''),
        last_name VARCHAR(100) NOT NULL CHECK (last_name <> ''),
        telephone VARCHAR(50) NOT NULL CHECK (telephone <> ''),
        email VARCHAR(320) NOT NULL CHECK (email <> ''),
        street_address VARCHAR(500) NOT NULL CHECK (street_address <> ''),
        city VARCHAR(100) NOT NULL CHECK (city <> ''),
        state_province VARCHAR(100) NOT NULL CHECK (state_province <> ''),
        postal_code VARCHAR(20) NOT NULL CHECK (postal_code <> ''),
        contact_types TEXT NOT NULL CHECK (contact_types <> ''),
        created_at {ts} NOT NULL,
        updated_at {ts} NOT NULL,
        updated_by VARCHAR(320) NOT NULL)""",
    "CREATE INDEX site_contact_site ON site_contact (site_id, id)",
    # One row per site that was ever reviewed or reminded. A site without a row
    # was never reviewed (and is overdue).
    """CREATE TABLE contact_review (
        site_id {fk} PRIMARY KEY REFERENCES site (id) ON DELETE CASCADE,
        reviewed_at {ts},
        reviewed_by VARCHAR(320),
        last_reminded_at {ts},
        CHECK ((reviewed_at IS NULL) = (reviewed_by IS NULL)))""",
]

DOWN = [
    "DROP TABLE contact_review",
    "DROP TABLE site_contact",
]
