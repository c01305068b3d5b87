"""Overview: what this area is for, what the person may do on the site (their
effective permissions, from the decision table), and for the primary the monthly
contact-review reminder and the advice to name a secondary contact."""

from __future__ import annotations

import falcon

from api.console.page import Page
from authz.contract.members import MemberQuery


class Overview(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        labels = self.labels()
        allowed = set(standing.allowed_actions)
        permissions = [
            {
                "label": app.label,
                "level": labels.level(app.id, standing.levels[app.id]),
                "actions": [action.label for action in app.actions if action.id in allowed],
            }
            for app in labels.catalogue.applications
        ]
        review_overdue = no_secondary = False
        if standing.role == "primary":
            review_overdue = self.service.contacts.of_site(visitor.actor, site).review.overdue
            secondaries = self.service.members.page(visitor.actor, site, MemberQuery(role="secondary", limit=1))
            no_secondary = not secondaries.members
        self.render(
            resp,
            "overview.html",
            "Overview",
            visitor=visitor,
            standing=standing,
            current="overview",
            permissions=permissions,
            review_overdue=review_overdue,
            no_secondary=no_secondary,
        )
