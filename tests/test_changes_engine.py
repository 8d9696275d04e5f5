"""The one executor (``changes.execute``) with stand-in changes: no I/O, no clock.

What it owns: each outcome at its input index, a ``Done`` from ``prepare``
recorded without running anything, item errors kept with their row, a
configuration error that stops the run, cancellation (once: what was sent
finishes; twice: what was in flight is marked failed) and the invite-quota gate.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, cast

import attrs
import pytest

from sentry_members_async import (
    AuthenticationError,
    BulkAborted,
    BulkReport,
    InviteQuotaError,
    MemberId,
    NotFoundError,
    OutcomeKind,
    PermissionDeniedError,
    ValidationError,
)
from sentry_members_async.changes import (
    IDP_MANAGED_DETAIL,
    Done,
    IdpManagedError,
    Operation,
    RemoveMember,
    RunContext,
    execute,
    executor,
    is_idp_managed,
)

if TYPE_CHECKING:
    from sentry_members_async.api.org import OrgContext

K = OutcomeKind
UPDATED = Done(K.UPDATED)
ORG = cast("OrgContext", object())  # the stand-in changes never touch the org


@attrs.frozen(eq=False)
class Step:
    """A change that waits for ``release`` (when given), then ends as ``done`` or raises."""

    quota_counted: ClassVar[bool] = False

    name: str
    done: Done = UPDATED
    raises: Exception | None = None
    release: asyncio.Event | None = None
    ran: list[str] = attrs.field(factory=list)
    entered: list[str] = attrs.field(factory=list)

    async def run(self, ctx: RunContext) -> Done:
        self.entered.append(self.name)
        if self.release is not None:
            await self.release.wait()
        self.ran.append(self.name)
        if self.raises is not None:
            raise self.raises
        return self.done


@attrs.frozen(eq=False)
class InviteStep(Step):
    quota_counted: ClassVar[bool] = True


async def as_is(step: Step) -> Operation:
    return step


async def test_outcomes_land_at_their_index_whatever_order_they_finish_in() -> None:
    events = [asyncio.Event() for _ in range(4)]
    steps = [
        Step(str(i), Done(K.CREATED, MemberId(str(i + 1))), release=events[i]) for i in range(4)
    ]
    run = asyncio.ensure_future(execute(ORG, steps, as_is, concurrency=4))
    for event in reversed(events):  # the last item finishes first
        await asyncio.sleep(0)
        event.set()
    report = await run
    assert [(o.index, o.kind, o.member_id) for o in report] == [
        (i, K.CREATED, MemberId(str(i + 1))) for i in range(4)
    ]
    assert report.ok
    assert report.counts() == {K.CREATED: 4}


async def test_a_done_from_prepare_is_recorded_and_nothing_runs() -> None:
    step = Step("x")

    async def prepare(row: str) -> Operation | Done:
        return Done(K.NOT_FOUND) if row == "ghost" else step

    report = await execute(ORG, ["ghost", "real"], prepare, concurrency=1)
    assert [o.kind for o in report] == [K.NOT_FOUND, K.UPDATED]
    assert step.ran == ["x"]


async def test_an_item_error_keeps_its_row_and_the_run_goes_on() -> None:
    missing = NotFoundError(404, "GET", "/x/", "gone")
    steps = [Step("a"), Step("b", raises=missing), Step("c")]
    report = await execute(ORG, steps, as_is, concurrency=1)
    assert [o.kind for o in report] == [K.UPDATED, K.FAILED, K.UPDATED]
    assert report[1].error is missing
    assert report[1].row is steps[1]
    assert report[0].row is None  # rows are kept for failures only
    assert report.failed() == [steps[1]]
    assert not report.ok


async def test_a_configuration_error_stops_the_run() -> None:
    denied = AuthenticationError(401, "GET", "/x/", "Invalid token")
    steps = [Step("a"), Step("b", raises=denied), Step("c")]
    with pytest.raises(BulkAborted) as info:
        await execute(ORG, steps, as_is, concurrency=1)
    report = info.value.report
    assert info.value.error is denied
    assert report.aborted is denied
    assert [o.kind for o in report] == [K.UPDATED, K.FAILED, K.NOT_SENT]
    assert steps[2].ran == []  # never sent: read from the input into the report
    assert report.not_sent() == [steps[2]]
    assert str(report[2].error).startswith("not sent: the run stopped (401 GET /x/")


async def test_input_that_raises_stops_the_run_and_keeps_the_report() -> None:
    release = asyncio.Event()
    steps = [Step("a"), Step("b", release=release)]

    def items() -> Iterator[Step]:
        yield from steps
        release.set()  # "b" is in flight when the input fails
        raise ValueError("row 3 of the sheet is unreadable")

    with pytest.raises(BulkAborted) as info:
        await execute(ORG, items(), as_is, concurrency=2)
    report = info.value.report
    assert [o.kind for o in report] == [K.UPDATED, K.UPDATED]  # "b" was let finish
    assert steps[1].ran == ["b"]
    assert report.aborted is info.value.error
    assert "reading the items failed after item 2: ValueError(" in str(info.value)
    assert isinstance(info.value.error.__cause__, ValueError)


async def test_the_first_reason_to_stop_stands() -> None:
    release = asyncio.Event()
    denied = AuthenticationError(401, "GET", "/x/", "Invalid token")
    step = Step("a", raises=denied, release=release)

    def items() -> Iterator[Step]:
        yield step
        release.set()  # "a" gets its 401 after the input has failed
        raise ValueError("unreadable")

    with pytest.raises(BulkAborted) as info:
        await execute(ORG, items(), as_is, concurrency=2)
    assert isinstance(info.value.error.__cause__, ValueError)
    assert info.value.report.aborted is info.value.error
    assert [o.kind for o in info.value.report] == [K.FAILED]
    assert info.value.report[0].error is denied


@pytest.mark.parametrize("twice", [False, True], ids=["once", "twice"])
async def test_cancel_once_lets_the_sent_finish_twice_marks_them_failed(twice: bool) -> None:
    release = asyncio.Event()
    steps = [Step(str(i), release=release) for i in range(3)]
    report: BulkReport[Step] = BulkReport()
    run = asyncio.ensure_future(execute(ORG, steps, as_is, concurrency=2, report=report))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # two items sent, both waiting for their answer
    run.cancel()
    await asyncio.sleep(0)
    if twice:
        run.cancel()  # the second cancel: stop at once
    else:
        release.set()  # the answers come: the report matches the server
    with pytest.raises(asyncio.CancelledError) as info:
        await run
    assert type(info.value) is asyncio.CancelledError  # passed on unchanged
    assert report.cancelled
    assert len(report) == 3  # the third item, never pulled, is in it too
    assert report[2].kind is K.NOT_SENT
    assert str(report[2].error) == "cancelled before it was sent"
    assert report.not_sent() == steps[2:]
    assert steps[2].entered == []
    if not twice:
        assert [o.kind for o in report][:2] == [K.UPDATED, K.UPDATED]
        return
    assert [o.kind for o in report][:2] == [K.FAILED, K.FAILED]
    assert str(report[0].error) == "cancelled while in flight: the server may have applied it"
    assert report.failed() == steps[:2]


def _timeout() -> Any:
    """``asyncio.timeout`` (3.11+), else the ``async-timeout`` backport the package needs."""
    if sys.version_info >= (3, 11):
        return vars(asyncio)["timeout"]
    return importlib.import_module("async_timeout").timeout


@pytest.mark.python_versions
@pytest.mark.parametrize("how", ["wait_for", "timeout"])
async def test_a_cancelled_run_under_a_timeout_is_a_timeout_error(how: str) -> None:
    # asyncio.timeout() (async-timeout on 3.10) and wait_for turn the CancelledError
    # they caused into a TimeoutError only when it reaches them unchanged (not a
    # subclass). asyncio.TimeoutError is the built-in TimeoutError from 3.11 on.
    release = asyncio.Event()
    steps = [Step(str(i), release=release) for i in range(5)]
    report: BulkReport[Step] = BulkReport()

    async def later() -> None:
        await asyncio.sleep(0.05)
        release.set()  # the answers in flight come after the timeout

    async def bounded() -> None:
        run = execute(ORG, steps, as_is, concurrency=2, report=report)
        if how == "wait_for":
            await asyncio.wait_for(run, timeout=0.01)
        else:
            async with _timeout()(0.01):
                await run

    answers = asyncio.ensure_future(later())
    with pytest.raises(asyncio.TimeoutError):
        await bounded()
    await answers
    assert report.cancelled
    assert [o.kind for o in report] == [K.UPDATED, K.UPDATED] + [K.NOT_SENT] * 3
    assert report.not_sent() == steps[2:]


def test_a_report_passed_in_must_be_new() -> None:
    used: BulkReport[Step] = BulkReport()
    used.cancelled = True
    with pytest.raises(ValidationError, match="new BulkReport"):
        asyncio.run(execute(ORG, [], as_is, report=used))


async def test_a_long_input_left_after_a_cancel_stays_readable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(executor, "MAX_DRAIN", 3)
    release = asyncio.Event()
    first = Step("0", release=release)

    def endless() -> Iterator[Step]:
        yield first
        n = 1
        while True:
            yield Step(str(n))
            n += 1

    report: BulkReport[Step] = BulkReport()
    run = asyncio.ensure_future(execute(ORG, endless(), as_is, concurrency=1, report=report))
    await asyncio.sleep(0)
    run.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert [o.kind for o in report] == [K.UPDATED] + [K.NOT_SENT] * 3
    assert [s.name for s in report.not_sent()] == ["1", "2", "3"]
    assert report.unread is not None
    assert [next(report.unread).name for _ in range(2)] == ["4", "5"]
    assert not report.ok


async def test_the_quota_gate_defers_every_invite_after_the_first_quota_answer() -> None:
    quota = InviteQuotaError(429, "POST", "/members/", "too many invitations")
    steps: list[Step] = [
        InviteStep("a", Done(K.CREATED, MemberId("1"))),
        InviteStep("b", raises=quota),
        Step("role"),
        InviteStep("c"),
    ]
    report = await execute(ORG, steps, as_is, concurrency=1)
    assert [o.kind for o in report] == [K.CREATED, K.DEFERRED, K.UPDATED, K.DEFERRED]
    assert report.quota is quota
    assert report[3].error is quota
    assert steps[3].ran == []  # not sent
    assert report.deferred() == [steps[1], steps[3]]


async def test_invites_go_in_parallel_and_stop_at_the_first_quota_answer() -> None:
    release = asyncio.Event()
    quota = InviteQuotaError(429, "POST", "/members/", "too many invitations")
    steps = [InviteStep("0", raises=quota, release=release)]
    steps += [InviteStep(str(i), Done(K.CREATED), release=release) for i in range(1, 4)]
    steps += [InviteStep(str(i)) for i in range(4, 7)]
    run = asyncio.ensure_future(execute(ORG, steps, as_is, concurrency=4))
    for _ in range(5):
        await asyncio.sleep(0)
    assert sum(len(s.entered) for s in steps) == 4  # all sent before any answer came
    release.set()
    report = await run
    # The three in flight with the quota answer end as answered; nothing is sent after it.
    assert [o.kind for o in report] == [K.DEFERRED] + [K.CREATED] * 3 + [K.DEFERRED] * 3
    assert [s.entered for s in steps[4:]] == [[], [], []]
    assert report.quota is quota


async def test_cancel_does_not_send_what_waits_to_be_sent() -> None:
    release = asyncio.Event()
    looked_up = asyncio.Event()
    steps = [InviteStep(str(i), Done(K.CREATED, MemberId(str(i + 1)))) for i in range(3)]
    steps[0] = InviteStep("0", Done(K.CREATED, MemberId("1")), release=release)

    async def prepare(step: Step) -> Operation | Done:
        if step is not steps[0]:
            await looked_up.wait()  # the others' lookups are still in flight
        return step

    report: BulkReport[Step] = BulkReport()
    run = asyncio.ensure_future(execute(ORG, steps, prepare, concurrency=3, report=report))
    for _ in range(5):
        await asyncio.sleep(0)
    assert [s.entered for s in steps] == [["0"], [], []]
    run.cancel()
    await asyncio.sleep(0)
    looked_up.set()
    release.set()  # the first invite's answer comes
    with pytest.raises(asyncio.CancelledError):
        await run
    assert report.cancelled
    assert [s.entered for s in steps] == [["0"], [], []]  # the waiting two were never sent
    assert [(o.kind, o.member_id) for o in report] == [
        (K.CREATED, MemberId("1")),
        (K.NOT_SENT, None),
        (K.NOT_SENT, None),
    ]
    assert [str(o.error) for o in report][1:] == ["cancelled before it was sent"] * 2
    assert report.not_sent() == steps[1:]  # to run them again
    assert report.failed() == []


async def test_cancel_while_an_item_is_looked_up_does_not_send_its_change() -> None:
    looked_up = asyncio.Event()
    step = Step("x")

    async def prepare(row: str) -> Operation | Done:
        await looked_up.wait()  # the lookup request is in flight
        return step

    report: BulkReport[str] = BulkReport()
    run = asyncio.ensure_future(execute(ORG, ["a"], prepare, concurrency=1, report=report))
    await asyncio.sleep(0)
    run.cancel()
    await asyncio.sleep(0)
    looked_up.set()  # the lookup's answer comes: the change is not sent
    with pytest.raises(asyncio.CancelledError):
        await run
    assert step.entered == []
    assert [(o.kind, str(o.error), o.row) for o in report] == [
        (K.NOT_SENT, "cancelled before it was sent", "a")
    ]


async def test_which_api_removed_each_member_is_kept_in_the_report() -> None:
    refused = PermissionDeniedError(403, "DELETE", "/m/3/", IDP_MANAGED_DETAIL)
    steps = [
        Step("a", Done(K.REMOVED, MemberId("1"), via="scim")),
        Step("b", Done(K.REMOVED, MemberId("2"), via="rest")),
        Step("c", Done(K.FAILED, MemberId("3"), refused, via="rest")),
        Step("d", Done(K.NOT_FOUND)),
    ]
    report = await execute(ORG, steps, as_is, concurrency=2)
    assert [(o.kind, o.via) for o in report] == [
        (K.REMOVED, "scim"),
        (K.REMOVED, "rest"),
        (K.FAILED, "rest"),
        (K.NOT_FOUND, None),
    ]
    assert report[2].error is refused
    assert report.removed_via() == {"scim": 1, "rest": 1}  # removed ones only


def test_only_the_identity_provider_refusal_is_idp_managed() -> None:
    def denied(detail: str, status: int = 403) -> PermissionDeniedError:
        return PermissionDeniedError(
            status, "DELETE", "/api/0/organizations/acme/members/7/", detail
        )

    assert is_idp_managed(denied(IDP_MANAGED_DETAIL))
    assert is_idp_managed(denied(IDP_MANAGED_DETAIL.rstrip(".")))  # with or without the stop
    for other in (
        "You cannot remove the only remaining owner of the organization.",
        "This member is managed by an active partnership and cannot be modified until the "
        "end of the partnership.",
        "You do not have permission to perform this action.",
        "This team is managed through your organization's identity provider.",
    ):
        assert not is_idp_managed(denied(other))
    assert not is_idp_managed(NotFoundError(404, "DELETE", "/x/", IDP_MANAGED_DETAIL))
    made = IdpManagedError.from_denied(denied(IDP_MANAGED_DETAIL), member="a@example.com")
    assert (made.status, made.detail, made.member) == (403, IDP_MANAGED_DETAIL, "a@example.com")
    assert "acme.bulk.deprovision" in str(made)
    assert "sentry-members scim users deactivate" in str(made)


class _Removing:
    """A stand-in org whose ``members.remove`` raises what it is given."""

    def __init__(self, raises: Exception) -> None:
        self.members = self
        self.raises = raises

    async def remove(self, member_id: MemberId, *, missing_ok: bool = False) -> bool:
        raise self.raises


def _refusal(cls: type[PermissionDeniedError]) -> PermissionDeniedError:
    return cls(
        403,
        "DELETE",
        "/api/0/organizations/acme/members/3/",
        IDP_MANAGED_DETAIL,
        required_scopes=("member:read", "member:write", "member:admin"),
    )


async def test_remove_member_names_the_member_of_the_apis_idp_refusal() -> None:
    # members.remove recognises the refusal (api/members.py); the change only catches
    # it for the fallback, and names the member by the e-mail it was given.
    raised = _refusal(IdpManagedError)
    org = cast("OrgContext", _Removing(raised))
    done = await RemoveMember(MemberId("3"), "a@example.com").run(RunContext(org))
    assert (done.kind, done.via) == (K.FAILED, "rest")
    assert isinstance(done.error, IdpManagedError)
    assert done.error.member == "a@example.com"
    assert "a@example.com was provisioned" in str(done.error)
    assert "needs one of the scopes" not in str(done.error)  # no scope lifts it


async def test_remove_member_does_not_restate_the_apis_rule() -> None:
    # A plain 403 is the API's to classify: the change passes it on untouched.
    plain = _refusal(PermissionDeniedError)
    org = cast("OrgContext", _Removing(plain))
    with pytest.raises(PermissionDeniedError) as info:
        await RemoveMember(MemberId("3"), "a@example.com", idp_fallback="scim").run(RunContext(org))
    assert info.value is plain
