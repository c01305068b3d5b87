"""The acting person's own profile and notification email."""

from __future__ import annotations

from typing import Any

from api.endpoint import endpoint
from api.resources import ADMIN_ERRORS, ADMIN_SCOPES, BODY_ERRORS, Resource
from authz.contract.members import NotificationEmail, Profile

_NOT_A_PERSON = {
    403: "An operator key has no person (or the key's scope)",
    404: "The acting person is not a known identity",
}


class Me(Resource):
    scopes = ADMIN_SCOPES

    @endpoint("The acting person's profile", returns=Profile, errors={**ADMIN_ERRORS, **_NOT_A_PERSON})
    def on_get(self, req: Any, resp: Any) -> Profile:
        return self.service.people.profile(req.context.actor)

    @endpoint(
        "Set or clear (null) one's own notification email",
        body=NotificationEmail,
        returns=Profile,
        errors={**BODY_ERRORS, **ADMIN_ERRORS, **_NOT_A_PERSON},
    )
    def on_patch(self, req: Any, resp: Any, body: NotificationEmail) -> Profile:
        return self.service.people.set_notification_email(req.context.actor, body)
