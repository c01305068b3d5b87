"""The SCIM 2.0 door (RFC 7643/7644) at /scim/v2, for the identity provider
(API keys of the `scim` scope): users, and the discovery endpoints.

Thin resources: scim2-models parses each body and query into its models
(api/scim/schema.py), api/scim/mapping.py turns them into the contract's
identities, one operation of the identity service runs, and the answer is
dumped by scim2-models in its context (attributes, excludedAttributes). A
change answers its change_seq in `X-Change-Seq`: pass it as min_change_seq to
a check to see the change. Errors: api/scim/errors.py."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import falcon
from msgspec import UNSET
from scim2_models import (
    Context,
    InvalidSyntaxException,
    ListResponse,
    NotFoundException,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SearchRequest,
)

from api.resources import SCIM_SCOPES, Resource
from api.scim.errors import write
from api.scim.mapping import etag, expected_version, to_filter, to_input, to_user
from api.scim.schema import CONFIG, PREFIX, PROVIDER, SCHEMAS, USER_TYPE, User, with_meta
from authz.contract.identities import MAX_PAGE, Identity, IdentityQuery
from authz.errors import PreconditionFailed

CHANGE_SEQ_HEADER = "X-Change-Seq"
_MEDIA_TYPES = ("application/scim+json", "application/json")
PATCH_ATTEMPTS = 5  # a PATCH without If-Match re-applies on a concurrent change this many times


def scim(responder: Callable) -> Callable:
    """Run RESPONDER under the door's provider (its models and policy)."""

    @functools.wraps(responder)
    def respond(resource: Any, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        with PROVIDER:
            responder(resource, req, resp, **params)

    return respond


class ScimResource(Resource):
    scopes = SCIM_SCOPES

    def read_json(self, req: falcon.Request) -> Any:
        media_type = (req.content_type or "").partition(";")[0].strip().lower()
        if media_type not in _MEDIA_TYPES:
            raise falcon.HTTPUnsupportedMediaType(description="the body must be application/scim+json")
        raw = req.bounded_stream.read(self.body_limit + 1)
        if len(raw) > self.body_limit:
            raise falcon.HTTPPayloadTooLarge(description=f"the body is larger than {self.body_limit} bytes")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise InvalidSyntaxException(detail=f"the body is not JSON: {exc}") from None

    def location(self, req: falcon.Request, identity: Identity) -> str:
        return f"{req.prefix}{PREFIX}/Users/{identity.id}"

    def answer_user(
        self, req: falcon.Request, resp: falcon.Response, identity: Identity, context: Context, status: str
    ) -> None:
        parameters = ResponseParameters[User].model_validate(_query(req, "attributes", "excludedAttributes"))
        user = to_user(identity, self.location(req, identity))
        resp.set_header("ETag", etag(identity.version))
        resp.set_header("Location", self.location(req, identity))
        if identity.change_seq is not UNSET:  # a change: how to see it in checks
            resp.set_header(CHANGE_SEQ_HEADER, str(identity.change_seq))
        write(resp, status, user.model_dump(scim_ctx=context, response_parameters=parameters))


def _query(req: falcon.Request, *names: str) -> dict[str, Any]:
    return {name: req.params[name] for name in names if name in req.params}


# -- users ---------------------------------------------------------------------


class Users(ScimResource):
    @scim
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        names = ("filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder")
        request = SearchRequest[User].model_validate(_query(req, *names))
        search(self, req, resp, request, Context.RESOURCE_QUERY_RESPONSE)

    @scim
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        user = User.model_validate(self.read_json(req), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        created = self.service.identities.create(req.context.actor, to_input(user, active=True))
        self.answer_user(req, resp, created, Context.RESOURCE_CREATION_RESPONSE, falcon.HTTP_201)


class UserSearch(ScimResource):
    """POST /Users/.search, and /.search (Users are the only resources here)."""

    @scim
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = SearchRequest[User].model_validate(self.read_json(req), scim_ctx=Context.SEARCH_REQUEST)
        search(self, req, resp, request, Context.SEARCH_RESPONSE)


def search(
    resource: ScimResource, req: falcon.Request, resp: falcon.Response, request: SearchRequest[Any], context: Context
) -> None:
    """A page of users (RFC 7644 §3.4.2): filtered, from startIndex, at most count
    (and never more than filter.maxResults), ordered by id (sorting is not offered)."""
    count = MAX_PAGE if request.count is None else max(0, min(request.count, MAX_PAGE))
    query = IdentityQuery(
        filter=to_filter(request.filter) if request.filter else None,
        start_index=max(1, request.start_index or 1),
        count=count,
    )
    page = resource.service.identities.search(query)
    users = [to_user(identity, resource.location(req, identity)) for identity in page.identities]
    listing = ListResponse[User](
        total_results=page.total, start_index=page.start_index, items_per_page=len(users), resources=users
    )
    write(resp, falcon.HTTP_200, listing.model_dump(scim_ctx=context, response_parameters=request))


class OneUser(ScimResource):
    @scim
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        identity = self.service.identities.get(user_id)
        self.answer_user(req, resp, identity, Context.RESOURCE_QUERY_RESPONSE, falcon.HTTP_200)

    @scim
    def on_put(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        """Replace the user whole. An `active` left out keeps its value: leaving it
        out never reactivates anyone."""
        replacement = User.model_validate(self.read_json(req), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        current = self.service.identities.get(user_id)
        expected = expected_version(req.get_header("If-Match"), current.version)
        replaced = self.service.identities.replace(
            req.context.actor, user_id, to_input(replacement, active=current.active), expected_version=expected
        )
        self.answer_user(req, resp, replaced, Context.RESOURCE_REPLACEMENT_RESPONSE, falcon.HTTP_200)

    @scim
    def on_patch(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        """Apply the operations (scim2-models) to the user as it is, and replace
        it with the result at the version it was read at: concurrent changes
        never interleave. Without If-Match, a concurrent change makes it start over."""
        patch = PatchOp[User].model_validate(self.read_json(req), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        for attempt in range(PATCH_ATTEMPTS):
            current = self.service.identities.get(user_id)
            asked = expected_version(req.get_header("If-Match"), current.version)
            user = to_user(current, self.location(req, current))
            patch.patch(user)
            try:
                patched = self.service.identities.replace(
                    req.context.actor, user_id, to_input(user, active=None), expected_version=current.version
                )
            except PreconditionFailed:
                if asked is not None or attempt == PATCH_ATTEMPTS - 1:
                    raise
                continue
            self.answer_user(req, resp, patched, Context.RESOURCE_PATCH_RESPONSE, falcon.HTTP_200)
            return

    @scim
    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        """Delete the user: their memberships go and their pending requests close;
        refused (409) while they are a site's primary contact."""
        expected = None
        if req.get_header("If-Match"):
            expected = expected_version(req.get_header("If-Match"), self.service.identities.get(user_id).version)
        removed = self.service.identities.delete(req.context.actor, user_id, expected_version=expected)
        resp.set_header(CHANGE_SEQ_HEADER, str(removed.change_seq))
        resp.status = falcon.HTTP_204


# -- discovery -----------------------------------------------------------------


class ServiceProviderConfigDocument(ScimResource):
    @scim
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        config = with_meta(CONFIG, "ServiceProviderConfig", f"{req.prefix}{PREFIX}/ServiceProviderConfig")
        write(resp, falcon.HTTP_200, config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _listing(kind: Any, documents: list[Any]) -> dict[str, Any]:
    listing = ListResponse[kind](
        total_results=len(documents), start_index=1, items_per_page=len(documents), resources=documents
    )
    return listing.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


class ResourceTypes(ScimResource):
    @scim
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        write(resp, falcon.HTTP_200, _listing(ResourceType, [_resource_type(req)]))


class OneResourceType(ScimResource):
    @scim
    def on_get(self, req: falcon.Request, resp: falcon.Response, type_id: str) -> None:
        if type_id != USER_TYPE.id:
            raise NotFoundException(detail=f"no resource type '{type_id[:80]}' (there is: {USER_TYPE.id})")
        write(resp, falcon.HTTP_200, _resource_type(req).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _resource_type(req: falcon.Request) -> ResourceType:
    return with_meta(USER_TYPE, "ResourceType", f"{req.prefix}{PREFIX}/ResourceTypes/{USER_TYPE.id}")


class Schemas(ScimResource):
    @scim
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        documents = [_schema(req, schema_id) for schema_id in SCHEMAS]
        write(resp, falcon.HTTP_200, _listing(Schema, documents))


class OneSchema(ScimResource):
    @scim
    def on_get(self, req: falcon.Request, resp: falcon.Response, schema_id: str) -> None:
        if schema_id not in SCHEMAS:
            raise NotFoundException(detail=f"no schema '{schema_id[:120]}'")
        write(resp, falcon.HTTP_200, _schema(req, schema_id).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _schema(req: falcon.Request, schema_id: str) -> Schema:
    return with_meta(SCHEMAS[schema_id], "Schema", f"{req.prefix}{PREFIX}/Schemas/{schema_id}")


def not_found(req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
    """Any other path under /scim/v2 (a sink): a SCIM 404."""
    raise NotFoundException(detail=f"no SCIM endpoint {req.path[:120]}")


def routes(service: Any) -> list[tuple[str, Any]]:
    return [
        (f"{PREFIX}/ServiceProviderConfig", ServiceProviderConfigDocument(service)),
        (f"{PREFIX}/ResourceTypes", ResourceTypes(service)),
        (f"{PREFIX}/ResourceTypes/{{type_id}}", OneResourceType(service)),
        (f"{PREFIX}/Schemas", Schemas(service)),
        (f"{PREFIX}/Schemas/{{schema_id}}", OneSchema(service)),
        (f"{PREFIX}/Users", Users(service)),
        (f"{PREFIX}/Users/.search", UserSearch(service)),
        (f"{PREFIX}/.search", UserSearch(service)),
        (f"{PREFIX}/Users/{{user_id}}", OneUser(service)),
    ]
