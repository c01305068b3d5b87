"""The domain's rules written down again, from /work/shared/DOMAIN.md (and the
README's check contract for reason codes and login ids), in plain Python.

Nothing here imports the engine, the catalogue loader, the policy files or the
service: the differential and stateful suites compare the product with this, so
a rule the product gets wrong is not also wrong here by construction. Where
DOMAIN.md leaves an action's minimum level to policy, the choice below is the
one its words point to, and says which words."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

ROLES = ("primary", "secondary", "user")
ASSIGNABLE_ROLES = ("secondary", "user")  # "role (secondary or user)"; the primary moves only by transfer
MAX_SECONDARIES = 4  # "Secondary Contact: at most 4 per site"

# "Each member holds one level per application. Levels are ordered" (lowest first).
LEVELS: dict[str, tuple[str, ...]] = {
    # none · software downloads only · ... and media access · ... quotes, product catalogs and license renewals
    "purchase_download": ("none", "downloads", "media", "full"),
    "reporting": ("none", "view"),
    "entitlements": ("none", "view", "update"),
    "allocations": ("none", "view", "update"),
    "manage_access": ("none", "view", "update"),
    "contact_updates": ("none", "view", "update"),
    "account_documents": ("none", "view"),
}
# "Only primary and secondary contacts may hold the account-management privileges
# (manage access, contact updates, account-related documents). A plain user never can."
ACCOUNT_MANAGEMENT = frozenset({"manage_access", "contact_updates", "account_documents"})

# action -> (application, the lowest level that permits it)
MINIMUM: dict[str, tuple[str, str]] = {
    # The Purchase & Download levels name what each adds.
    "download_software": ("purchase_download", "downloads"),
    "request_media": ("purchase_download", "media"),
    "view_quotes": ("purchase_download", "full"),
    "accept_quotes": ("purchase_download", "full"),
    "browse_catalog": ("purchase_download", "full"),
    "renew_licenses": ("purchase_download", "full"),
    "view_reports": ("reporting", "view"),
    "export_reports": ("reporting", "view"),
    # "Entitlements (entitlement inventory and deployments)": viewing at view, updating at update.
    "view_entitlements": ("entitlements", "view"),
    "view_deployments": ("entitlements", "view"),
    "update_deployments": ("entitlements", "update"),
    "view_allocations": ("allocations", "view"),
    "update_allocations": ("allocations", "update"),
    # Manage access: "see the site's user list and can download the complete list" at view;
    # "With update privilege they change a member's details, role and levels, or remove";
    # adding and deciding requests need "manage-access update privilege". Reading pending
    # requests and the audit trail are readings: view. The user check is a step of adding: update.
    "list_users": ("manage_access", "view"),
    "export_users": ("manage_access", "view"),
    "view_access_requests": ("manage_access", "view"),
    "view_audit": ("manage_access", "view"),
    "check_user": ("manage_access", "update"),
    "add_user": ("manage_access", "update"),
    "update_user": ("manage_access", "update"),
    "remove_user": ("manage_access", "update"),
    "decide_access_requests": ("manage_access", "update"),
    # Contact updates: "see or edit them"; a review is a change to the site's record: update.
    "view_contacts": ("contact_updates", "view"),
    "edit_contacts": ("contact_updates", "update"),
    "mark_contacts_reviewed": ("contact_updates", "update"),
    "view_account_documents": ("account_documents", "view"),
}


def lowest(application: str) -> str:
    return LEVELS[application][0]


def highest(application: str) -> str:
    return LEVELS[application][-1]


def rank(application: str, level: str) -> int:
    return LEVELS[application].index(level)


def may_hold(role: str, application: str) -> bool:
    """May a member in ROLE hold APPLICATION above its lowest level?"""
    return role != "user" or application not in ACCOUNT_MANAGEMENT


def effective_levels(role: str, stored: Mapping[str, str]) -> dict[str, str]:
    """What counts: the primary "holds every privilege at its highest level"; anyone
    else what is stored (the lowest where nothing is)."""
    if role == "primary":
        return {app: highest(app) for app in LEVELS}
    return {app: stored.get(app, lowest(app)) for app in LEVELS}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    code: str  # the README's reason codes
    required_level: str | None = None


def member_verdict(role: str, stored: Mapping[str, str], action: str) -> Verdict:
    """May a member in ROLE who stores STORED (application -> level) do ACTION?"""
    application, minimum = MINIMUM[action]
    if role == "primary":
        return Verdict(True, "allowed")
    if role == "user" and application in ACCOUNT_MANAGEMENT:
        return Verdict(False, "role_may_not_hold")  # "whatever is assigned"
    level = stored.get(application, lowest(application))
    if level not in LEVELS[application]:
        return Verdict(False, "unknown_level")  # a level nobody defined grants nothing
    if rank(application, level) >= rank(application, minimum):
        return Verdict(True, "allowed")
    return Verdict(False, "level_too_low", minimum)


# -- login ids and site numbers (README, "Login ids") --------------------------

LOGIN_ID_MAX = 320
SITE_NUMBER_MAX = 64


def acceptable(value: str, max_length: int) -> bool:
    """1 to MAX_LENGTH printable characters (str.isprintable: no control, format,
    private-use, unassigned, surrogate, separator but the ASCII space), no space at
    either end, already in NFC."""
    return (
        0 < len(value) <= max_length
        and value.isprintable()
        and value == value.strip(" ")
        and unicodedata.is_normalized("NFC", value)
    )


def same_person(a: str, b: str) -> bool:
    """Two accepted login ids name one person exactly when equal after folding the
    case of ASCII letters, and in no other way."""
    return _ascii_fold(a) == _ascii_fold(b)


def _ascii_fold(value: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in value)


# -- a world of sites, people and memberships, and what a check answers in it --


@dataclass
class Person:
    login_id: str
    active: bool = True


@dataclass
class Membership:
    role: str
    stored: dict[str, str]


@dataclass
class World:
    sites: set[str]
    people: list[Person]
    memberships: dict[tuple[str, str], Membership]  # (login id as stored, site) -> membership

    def person(self, login_id: str) -> Person | None:
        return next((p for p in self.people if same_person(p.login_id, login_id)), None)


@dataclass(frozen=True)
class Expected:
    """A refusal of the request (400 naming one of REFUSED_FIELDS) or a decision."""

    refused_fields: frozenset[str] = frozenset()
    verdict: Verdict | None = None


def check(world: World, user: str, site: str, action: str) -> Expected:
    """What POST /v1/check must answer for USER, SITE, ACTION in WORLD."""
    bad = {
        name
        for name, ok in (
            ("user", acceptable(user, LOGIN_ID_MAX)),
            ("site", acceptable(site, SITE_NUMBER_MAX)),
            ("action", action in MINIMUM),
        )
        if not ok
    }
    if bad:
        return Expected(refused_fields=frozenset(bad))
    person = world.person(user)
    if person is None:
        return Expected(verdict=Verdict(False, "unknown_user"))
    if not person.active:
        return Expected(verdict=Verdict(False, "identity_inactive"))  # denied on every site
    if site not in world.sites:  # site numbers compare exactly
        return Expected(verdict=Verdict(False, "unknown_site"))
    membership = world.memberships.get((person.login_id, site))
    if membership is None:
        return Expected(verdict=Verdict(False, "no_membership"))
    return Expected(verdict=member_verdict(membership.role, membership.stored, action))


def who_can(world: World, site: str, action: str) -> set[str]:
    """The login ids of the active members of SITE who may do ACTION."""
    return {
        login
        for (login, number), membership in world.memberships.items()
        if number == site
        and (person := world.person(login)) is not None
        and person.active
        and member_verdict(membership.role, membership.stored, action).allowed
    }
