"""The application-service layer: the one way into the domain.

Every door (the HTTP API in api/, the command line in authz/cli/, and the doors
to come) calls these operations and nothing below them: one method per
operation, taking the acting party and typed input (authz/contract) and
returning typed output, with database failures classified by the storage
layer (models.errors). A door never touches a model or the decision table; a
workflow never knows which door called it.

May import: every authz package below it (contract, engine, decisions,
accounts, audit, authn, policy_tools), models, and the shared modules."""

from __future__ import annotations

import logging

from authz.audit import keys as audit_keys
from authz.config import Settings
from authz.service.accounts import (
    AccessRequestService,
    ContactService,
    MemberService,
    PeopleService,
    SiteAuditService,
    SiteService,
)
from authz.service.authoring import AuthoringService
from authz.service.decisions import DecisionService, PolicyService
from authz.service.identities import IdentityService
from authz.service.identity import SignInService
from authz.service.operations import AuditService, CallerService, DataService, OutboxService
from authz.service.runtime import FixedPolicy, LivePolicy, Runtime
from models.db import open_database


class Service:
    """Every operation, grouped by what it is about."""

    def __init__(self, runtime: Runtime):
        self._runtime = runtime  # the worker's state: doors use the operations, never this
        self.settings = runtime.settings
        self.decisions = DecisionService(runtime)
        self.policy = PolicyService(runtime)
        self.callers = CallerService(runtime)
        self.sign_in = SignInService(runtime)
        self.members = MemberService(runtime)
        self.access_requests = AccessRequestService(runtime)
        self.contacts = ContactService(runtime)
        self.sites = SiteService(runtime)
        self.people = PeopleService(runtime)
        self.identities = IdentityService()
        self.site_audit = SiteAuditService(runtime)
        self.audit = AuditService()
        self.outbox = OutboxService(runtime)
        self.data = DataService(runtime)
        self.authoring = AuthoringService()

    @classmethod
    def start(cls, settings: Settings) -> Service:
        """A server worker's service: the database opened, the policy loaded and hot
        reloaded (PolicyInvalid if it is bad and there is no last good one)."""
        open_database(settings.database_url, settings.db_lock_timeout_ms)
        audit_keys.install(audit_keys.AuditKeys(settings.audit_keys))
        if not settings.audit_keys:
            logging.getLogger("authz.audit").warning("%s", audit_keys.DEVELOPMENT_WARNING)
        return cls(Runtime(settings, LivePolicy(settings)))

    @classmethod
    def open(cls, settings: Settings) -> Service:
        """A command's service: the database opened, the policy accepted once."""
        open_database(settings.database_url, settings.db_lock_timeout_ms)
        audit_keys.install(audit_keys.AuditKeys(settings.audit_keys))
        return cls(Runtime(settings, FixedPolicy(settings.policy_dir)))
