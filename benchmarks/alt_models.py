"""Models equivalent to ours for pydantic and msgspec (the decode benchmark's comparisons)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pydantic
from pydantic import ConfigDict
from pydantic.alias_generators import to_camel


class PBase(pydantic.BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )


class PUserEmail(PBase):
    id: str
    email: str
    is_verified: bool = pydantic.Field(False, alias="is_verified")


class PUser(PBase):
    id: str
    name: str = ""
    username: str = ""
    email: str = ""
    avatar_url: str | None = None
    is_active: bool = True
    is_suspended: bool = False
    has_password_auth: bool = False
    is_managed: bool = False
    date_joined: dt.datetime | None = None
    last_login: dt.datetime | None = None
    last_active: dt.datetime | None = None
    has_2fa: bool = False
    is_superuser: bool = False
    is_staff: bool = False
    emails: tuple[PUserEmail, ...] = ()


class PFlags(PBase):
    idp_provisioned: bool = pydantic.Field(False, alias="idp:provisioned")
    idp_role_restricted: bool = pydantic.Field(False, alias="idp:role-restricted")
    sso_linked: bool = pydantic.Field(False, alias="sso:linked")
    sso_invalid: bool = pydantic.Field(False, alias="sso:invalid")
    member_limit_restricted: bool = pydantic.Field(False, alias="member-limit:restricted")
    partnership_restricted: bool = pydantic.Field(False, alias="partnership:restricted")


class PMember(PBase):
    id: str
    email: str = ""
    name: str = ""
    user: PUser | None = None
    org_role: str = "member"
    role: str | None = None
    role_name: str | None = None
    pending: bool = False
    expired: bool = False
    flags: PFlags = PFlags()
    date_created: dt.datetime | None = None
    invite_status: str = "approved"
    inviter_name: str | None = None
    teams: tuple[str, ...] = ()


class MUserEmail(msgspec.Struct, frozen=True):
    id: str
    email: str
    is_verified: bool = False


class MUser(msgspec.Struct, rename="camel", frozen=True):
    id: str
    name: str = ""
    username: str = ""
    email: str = ""
    avatar_url: str | None = None
    is_active: bool = True
    is_suspended: bool = False
    has_password_auth: bool = False
    is_managed: bool = False
    date_joined: dt.datetime | None = None
    last_login: dt.datetime | None = None
    last_active: dt.datetime | None = None
    has_2fa: bool = False
    is_superuser: bool = False
    is_staff: bool = False
    emails: tuple[MUserEmail, ...] = ()


class MFlags(
    msgspec.Struct,
    frozen=True,
    rename={
        "idp_provisioned": "idp:provisioned",
        "idp_role_restricted": "idp:role-restricted",
        "sso_linked": "sso:linked",
        "sso_invalid": "sso:invalid",
        "member_limit_restricted": "member-limit:restricted",
        "partnership_restricted": "partnership:restricted",
    },
):
    idp_provisioned: bool = False
    idp_role_restricted: bool = False
    sso_linked: bool = False
    sso_invalid: bool = False
    member_limit_restricted: bool = False
    partnership_restricted: bool = False


class MMember(msgspec.Struct, rename="camel", frozen=True):
    id: str
    email: str = ""
    name: str = ""
    user: MUser | None = None
    org_role: str = "member"
    role: str | None = None
    role_name: str | None = None
    pending: bool = False
    expired: bool = False
    flags: MFlags = MFlags()
    date_created: dt.datetime | None = None
    invite_status: str = "approved"
    inviter_name: str | None = None
    teams: tuple[str, ...] = ()
