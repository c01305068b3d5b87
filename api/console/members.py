"""Manage access and Add new user: the site's user list (paged, searchable, by role),
the complete list as CSV, one member's information, role and privilege matrix with a
preview of what a change does before it is saved, removal with a confirmation, and
adding a known identity after a user check.

The matrix comes from MemberService.privilege_matrix (what the acting person may
give, and why not the rest); the preview from MemberService.preview (the actions
gained and lost, decided by the policy in force, and the refusal the change would
meet); the change itself from MemberService.update/add/remove. Nothing here decides."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import falcon

from api.console.forms import Form
from api.console.page import Page, Visitor, site_path
from api.console.render import secure
from authz.contract.common import AssignableRole
from authz.contract.members import (
    ChangePreview,
    Member,
    MemberChange,
    MemberQuery,
    NewMember,
    PrivilegeMatrix,
    Standing,
    UserCheck,
)
from authz.contract.parsing import convert
from authz.errors import Conflict, DomainError, InvalidInput, NotFound

PAGE_SIZE = 50
ROLES = ("secondary", "user")


def member_path(site: str, login_id: str, rest: str = "member", **params: str) -> str:
    return site_path(site, rest) + "?" + urllib.parse.urlencode({"login": login_id, **params})


def chosen_levels(matrix: PrivilegeMatrix, chosen: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
    """The level shown checked for each application: a row the role may not hold at all
    is at its lowest level whatever was sent; else what was chosen, else what is held."""
    levels = {}
    for row in matrix.rows:
        lowest = row.levels[0].level
        if row.levels[0].refusal == "role_may_not_hold":
            levels[row.application] = lowest
        else:
            levels[row.application] = chosen.get(row.application) or current.get(row.application) or lowest
    return levels


def field_errors(exc: DomainError) -> dict[str, str]:
    return {exc.field or "form": exc.message}


class _MemberPage(Page):
    @staticmethod
    def _role(form: Form) -> AssignableRole | None:
        role = form.get("role")
        return cast(AssignableRole, role) if role in ROLES else None


class Members(_MemberPage):
    """The user list: name, login id, email, role; search, filter by role, paging."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        filters = {name: (req.get_param(name) or "").strip() for name in ("q", "role", "after")}
        try:
            query = convert(
                {
                    "q": filters["q"] or None,
                    "role": filters["role"] or None,
                    "after": filters["after"],
                    "limit": PAGE_SIZE,
                },
                MemberQuery,
            )
        except InvalidInput:
            query, filters = MemberQuery(limit=PAGE_SIZE), {"q": "", "role": "", "after": ""}
        page = self.service.members.page(visitor.actor, site, query)
        allowed = set(standing.allowed_actions)
        following = None
        if page.next_after is not None:
            following = (
                site_path(site, "members")
                + "?"
                + urllib.parse.urlencode({k: v for k, v in {**filters, "after": page.next_after}.items() if v})
            )
        first = (
            site_path(site, "members")
            + "?"
            + urllib.parse.urlencode({k: v for k, v in filters.items() if v and k != "after"})
        )
        removed = req.get_param("removed")
        self.render(
            resp,
            "members.html",
            "Manage access",
            visitor=visitor,
            standing=standing,
            current="members",
            page=page,
            filters=filters,
            following=following,
            first=first if filters["after"] else None,
            can_export="export_users" in allowed,
            can_add="add_user" in allowed,
            member_path=member_path,
            notice=f"{removed} was removed from the site." if removed else "",
        )


class MembersCsv(Page):
    """Download the complete list of users: the API's spreadsheet-safe CSV, streamed."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        self.standing(visitor, site)
        resp.stream = self.service.members.export_csv(visitor.actor, site)
        resp.content_type = "text/csv; charset=utf-8"
        resp.downloadable_as = f"site-{site}-users.csv"
        resp.cache_control = ["no-store"]
        secure(resp)


class OneMember(_MemberPage):
    """A member's information, role and privileges; Preview, then Save."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        member = self.service.members.get(visitor.actor, site, self._login(req))
        done = {"saved": "Saved.", "added": "Added; they get a welcome message."}.get(req.get_param("done") or "", "")
        self._show(resp, visitor, standing, member, member.role, {}, notice=done)

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        form = self.form(req, visitor)
        login = self._login(req)
        member = self.service.members.get(visitor.actor, site, login)
        role = self._role(form)
        if role is None:
            self._show(resp, visitor, standing, member, member.role, {}, errors={"role": "Choose a role."}, status=422)
            return
        matrix = self.service.members.privilege_matrix(visitor.actor, site, role, member.levels)
        levels = chosen_levels(matrix, form.prefixed("level."), member.levels)
        if form.get("do") == "save":
            try:
                change = convert({"role": role, "levels": levels}, MemberChange)
                self.service.members.update(visitor.actor, site, login, change)
            except DomainError as exc:
                self._show(resp, visitor, standing, member, role, levels, errors=field_errors(exc), status=422)
                return
            self.redirect(resp, member_path(site, login, done="saved"))
            return
        preview = self.service.members.preview(visitor.actor, site, login, role, levels)
        self._show(resp, visitor, standing, member, role, levels, preview=preview, matrix=matrix)

    @staticmethod
    def _login(req: falcon.Request) -> str:
        login = req.get_param("login")
        if not login:
            raise NotFound("no member named")
        return login

    def _show(
        self,
        resp: falcon.Response,
        visitor: Visitor,
        standing: Standing,
        member: Member,
        role: str,
        levels: Mapping[str, str],
        *,
        preview: ChangePreview | None = None,
        matrix: PrivilegeMatrix | None = None,
        errors: dict[str, str] | None = None,
        notice: str = "",
        status: int = 200,
    ) -> None:
        allowed = set(standing.allowed_actions)
        why_fixed = None
        if member.login_id.casefold() == visitor.login_id.casefold():
            why_fixed = "You cannot change your own role or privileges."
        elif member.role == "primary":
            why_fixed = "The primary contact holds every privilege; the role moves only by a transfer."
        editable = why_fixed is None and "update_user" in allowed
        if editable and matrix is None:
            shown: AssignableRole = "secondary" if role == "secondary" else "user"
            matrix = self.service.members.privilege_matrix(visitor.actor, standing.site, shown, member.levels)
        selected = chosen_levels(matrix, levels, member.levels) if matrix else dict(member.levels)
        self.render(
            resp,
            "member.html",
            f"{member.first_name} {member.last_name}".strip() or member.login_id,
            visitor=visitor,
            standing=standing,
            current="members",
            status=status,
            member=member,
            role=role,
            matrix=matrix,
            selected=selected,
            preview=preview,
            errors=errors or {},
            editable=editable,
            why_fixed=why_fixed,
            can_remove=why_fixed is None and "remove_user" in allowed,
            action=member_path(standing.site, member.login_id),
            delete_path=member_path(standing.site, member.login_id, "member/delete"),
            notice=notice,
            problem=(errors or {}).get("form", ""),
        )


class DeleteMember(OneMember):
    """Remove a member from the site, after a confirmation page."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        member = self.service.members.get(visitor.actor, site, self._login(req))
        self._confirm(resp, visitor, standing, member)

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        self.form(req, visitor)
        login = self._login(req)
        try:
            removed = self.service.members.remove(visitor.actor, site, login)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            member = self.service.members.get(visitor.actor, site, login)
            self._confirm(
                resp,
                visitor,
                standing,
                member,
                problem=exc.message,
                status=403 if not isinstance(exc, Conflict) else 409,
            )
            return
        self.redirect(resp, site_path(site, "members") + "?" + urllib.parse.urlencode({"removed": removed.removed}))

    def _confirm(
        self, resp: Any, visitor: Visitor, standing: Standing, member: Member, problem: str = "", status: int = 200
    ) -> None:
        self.render(
            resp,
            "member_delete.html",
            "Remove a user",
            visitor=visitor,
            standing=standing,
            current="members",
            status=status,
            member=member,
            action=member_path(standing.site, member.login_id, "member/delete"),
            back=member_path(standing.site, member.login_id),
            problem=problem,
        )


USER_CHECK = {
    "known": "Known identity: they can be added.",
    "member": "Already a member of this site.",
    "inactive": "This identity is deactivated by the identity provider: it cannot be added.",
    "unknown": "Not a known identity: check the login id (people come from the identity provider).",
}


@dataclass(frozen=True)
class Draft:
    """A new member as the form has them so far."""

    values: dict[str, str]  # login_id, email, business_justification
    role: AssignableRole
    levels: dict[str, str]
    matrix: PrivilegeMatrix


class AddUser(_MemberPage):
    """Login id and email, User check, business justification, role, privileges, Submit."""

    FIELDS = ("login_id", "email", "business_justification")

    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        matrix = self.service.members.privilege_matrix(visitor.actor, site, "user")
        draft = Draft(dict.fromkeys(self.FIELDS, ""), "user", chosen_levels(matrix, {}, {}), matrix)
        self._show(resp, visitor, standing, draft)

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        form = self.form(req, visitor)
        role = self._role(form)
        matrix = self.service.members.privilege_matrix(visitor.actor, site, role or "user")
        levels = chosen_levels(matrix, form.prefixed("level."), {})
        draft = Draft({name: form.get(name) for name in self.FIELDS}, role or "user", levels, matrix)
        check, errors = self._check(visitor, site, draft.values["login_id"])
        do = form.get("do")
        if not errors and do != "check" and role is None:
            errors = {"role": "Choose a role."}
        if errors or do == "check":
            self._show(resp, visitor, standing, draft, check=check, errors=errors, status=422 if errors else 200)
            return
        if do == "save":
            try:
                new = convert({**draft.values, "role": draft.role, "levels": levels}, NewMember)
                added = self.service.members.add(visitor.actor, site, new)
            except DomainError as exc:
                self._show(resp, visitor, standing, draft, check=check, errors=field_errors(exc), status=422)
                return
            self.redirect(resp, member_path(site, added.login_id, done="added"))
            return
        preview = self.service.members.preview(visitor.actor, site, None, draft.role, levels)
        self._show(resp, visitor, standing, draft, check=check, preview=preview)

    def _check(self, visitor: Visitor, site: str, login_id: str) -> tuple[UserCheck | None, dict[str, str]]:
        """The user check (MemberService.user_check) of LOGIN_ID, and what stops adding them."""
        if not login_id:
            return None, {"login_id": "Enter the login id."}
        try:
            check = self.service.members.user_check(visitor.actor, site, login_id)
        except InvalidInput as exc:
            return None, {"login_id": exc.message}
        if check.member:
            return check, {"login_id": USER_CHECK["member"]}
        if check.status != "known":
            return check, {"login_id": USER_CHECK[check.status]}
        return check, {}

    def _show(
        self,
        resp: falcon.Response,
        visitor: Visitor,
        standing: Standing,
        draft: Draft,
        *,
        check: UserCheck | None = None,
        preview: ChangePreview | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> None:
        known = check is not None and check.status == "known" and not check.member
        self.render(
            resp,
            "add_user.html",
            "Add new user",
            visitor=visitor,
            standing=standing,
            current="add",
            status=status,
            values=draft.values,
            role=draft.role,
            matrix=draft.matrix,
            selected=draft.levels,
            check_text=USER_CHECK["known"] if known else "",
            preview=preview,
            errors=errors or {},
            action=site_path(standing.site, "add-user"),
            problem=(errors or {}).get("form", ""),
        )
