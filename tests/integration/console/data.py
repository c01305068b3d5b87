"""Data the console's browser tests, its screenshots and bench/console.py all use."""

# A complete contact record: every mandatory field, two contact types.
CONTACT = {
    "first_name": "Rita",
    "last_name": "Renewals",
    "telephone": "+1 555 0199",
    "email": "rita@acme.example",
    "street_address": "1 Factory Road",
    "city": "Springfield",
    "state_province": "IL",
    "postal_code": "62701",
    "contact_types": ["renewal", "billing"],
}
