"""What the SCIM door serves, as scim2-models (pydantic) models: the User
resource with exactly the attributes this service keeps, and the discovery
documents (ServiceProviderConfig, ResourceTypes, Schemas) derived from them,
so what is published cannot drift from what is stored.

A User is an identity of authz.contract.identities: userName is the login id
(the service's login-id rule; unique as login ids match), emails (at least
one; the primary one is the person's email), name (given and family), phone
numbers, active, and the common externalId."""

from typing import Annotated, Any

from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Filter,
    Meta,
    Patch,
    Required,
    Resource,
    ResourceType,
    Schema,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models import Email as _CoreEmail
from scim2_models import PhoneNumber as _CorePhone

from authz.contract.identities import MAX_PAGE

PREFIX = "/scim/v2"
MEDIA_TYPE = "application/scim+json"


class Name(ComplexAttribute):
    family_name: str | None = None
    """The family name (last name)."""

    given_name: str | None = None
    """The given name (first name)."""


EmailType = _CoreEmail.Type
PhoneType = _CorePhone.Type


class Email(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """An email address. The primary one (else the first) is where the service writes to the person."""

    type: EmailType | None = None
    """A label: 'work', 'home' or 'other'."""

    primary: bool | None = None
    """Whether this is the person's email (at most one is)."""


class PhoneNumber(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    """A phone number."""

    type: PhoneType | None = None
    """A label: 'work', 'home', 'mobile', 'fax', 'pager' or 'other'."""

    primary: bool | None = None
    """Whether this is the person's phone number (at most one is)."""


class User(Resource[Any]):
    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """The login id: printable characters in Unicode NFC, no space at either end, at most 320;
    two login ids are the same person when equal after folding the case of ASCII letters."""

    name: Name | None = None
    """The person's name."""

    emails: Annotated[list[Email] | None, Required.true] = None
    """The person's email addresses: at least one."""

    phone_numbers: list[PhoneNumber] | None = None
    """The person's phone numbers."""

    active: bool | None = None
    """False: every check for the person is denied (identity_inactive); their memberships are kept."""


CONFIG = ServiceProviderConfig(
    documentation_uri=None,
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_PAGE),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=True),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="API key",
            description="Authorization: Bearer <an API key of the scim scope> (authz keys create --scope scim)",
            primary=True,
        )
    ],
)

# What the door tolerates from identity providers, beyond the strict reading:
# attributes it does not keep are dropped (providers send their whole mapping:
# title, addresses, an enterprise extension...); and Microsoft Entra's PATCH
# habits: a `remove` whose value selects what to remove, and a path filter
# (emails[type eq "work"].value) that creates the entry it names.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

PROVIDER = ScimProvider(models=[User], config=CONFIG, policy=POLICY)
USER_TYPE: ResourceType = PROVIDER.resource_types[0]

# /Schemas: the User schema, and the schemas of the discovery documents themselves.
SCHEMAS: dict[str, Schema] = {
    str(schema.id): schema
    for schema in (*PROVIDER.schemas, *(model.to_schema() for model in (ServiceProviderConfig, ResourceType, Schema)))
}


def with_meta(document: Any, resource_type: str, location: str) -> Any:
    """A discovery document with its meta (RFC 7643 §5-7)."""
    return document.model_copy(update={"meta": Meta(resource_type=resource_type, location=location)})
