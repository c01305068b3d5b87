"""The acting person's own profile and notification email."""

from api.resources import ADMIN_SCOPES
from authz.accounts import people


class Me:
    scopes = ADMIN_SCOPES

    def on_get(self, req, resp):
        resp.media = people.my_profile(req.context.actor)

    def on_patch(self, req, resp):
        resp.media = people.set_notification_email(req.context.actor, req.get_media())
