"""Labelled AT delivery-report and opt-out callbacks with the expected answer and effect.

Each :class:`Case` starts from an outbox holding the rows in ``outbox``
(message id → state, all to :data:`PHONE`), posts ``posts`` in order (form
fields as AT sends them, or a raw body) and expects each answer's status code,
then the rows' states and failure reasons, how many raw reports were stored
(and how many of them are parked orphans), the columns of the first report
(``report``) and which phones are suppressed.
Run by ``tests/test_delivery.py``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

TOKEN = "dlr-secret-token"
PHONE = "+992901234567"
OTHER_PHONE = "+992911234568"
MID = "ATXid_5f0c3a1e2b7d4c1a9e8f6b2d3c4a5e6f"


@dataclass
class Post:
    """One callback: ``form`` fields (form-urlencoded) or a raw ``body`` with ``content_type``."""

    form: dict[str, str] | None = None
    body: str | bytes | None = None
    content_type: str | None = None
    path: str = "/sms/delivery"
    key: str | None = TOKEN
    expect: int = 200


@dataclass
class Case:
    label: str
    posts: list[Post]
    outbox: dict[str, str] = field(default_factory=lambda: {MID: "accepted"})
    states: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str | None] = field(default_factory=dict)
    reports: int = 0
    orphans: int = 0
    suppressed: set[str] = field(default_factory=set)
    report: dict = field(default_factory=dict)  # columns of the (first) stored report


def dlr(status: str, *, id: str = MID, phone: str = PHONE, reason: str | None = None,
        retry: str | None = "0", **post) -> Post:
    """A delivery report as AT posts it."""
    form = {"id": id, "status": status, "phoneNumber": phone, "networkCode": "43601"}
    if reason is not None:
        form["failureReason"] = reason
    if retry is not None:
        form["retryCount"] = retry
    return Post(form=form, **post)


def optout(phone: str = PHONE, **post) -> Post:
    """A bulk-SMS opt-out notice as AT posts it."""
    return Post(form={"senderId": "DEHQON", "phoneNumber": phone}, path="/sms/optout", **post)


CASES = [
    # state machine: forward only, first final wins
    Case("Sent moves accepted to in_transit", [dlr("Sent")], states={MID: "in_transit"}, reports=1),
    Case("Submitted moves accepted to in_transit", [dlr("Submitted")], states={MID: "in_transit"}, reports=1),
    Case("Buffered moves accepted to in_transit", [dlr("Buffered")], states={MID: "in_transit"}, reports=1),
    Case("Success delivers", [dlr("Success")], states={MID: "delivered"}, reports=1),
    Case("Success after in_transit delivers", [dlr("Success")], outbox={MID: "in_transit"},
         states={MID: "delivered"}, reports=1),
    Case("status word in another case still counts", [dlr("success")], states={MID: "delivered"}, reports=1),
    Case("Failed with reason fails", [dlr("Failed", reason="DeliveryFailure")],
         states={MID: "failed"}, reasons={MID: "Failed: DeliveryFailure"}, reports=1),
    Case("Rejected fails as rejected", [dlr("Rejected", reason="UserIsInactive")],
         states={MID: "failed"}, reasons={MID: "Rejected: UserIsInactive"}, reports=1),
    Case("Expired fails as expired", [dlr("Expired")], states={MID: "failed"}, reasons={MID: "Expired"},
         reports=1),
    Case("Sent after Success does not go back", [dlr("Success"), dlr("Sent")],
         states={MID: "delivered"}, reports=2),
    Case("first final wins: Failed after Success", [dlr("Success"), dlr("Failed", reason="DeliveryFailure")],
         states={MID: "delivered"}, reasons={MID: None}, reports=2),
    Case("first final wins: Success after Expired", [dlr("Expired"), dlr("Success")],
         states={MID: "failed"}, reasons={MID: "Expired"}, reports=2),
    Case("late final report on an unconfirmed row applies", [dlr("Success")], outbox={MID: "unconfirmed"},
         states={MID: "delivered"}, reports=1),
    Case("Sent does not touch an unconfirmed row", [dlr("Sent")], outbox={MID: "unconfirmed"},
         states={MID: "unconfirmed"}, reports=1),
    Case("unknown status stored, state unchanged", [dlr("DeliveredToTerminal")],
         states={MID: "accepted"}, reports=1),
    # duplicates: (id, status, retryCount)
    Case("duplicate report stored once, both answered 200", [dlr("Success"), dlr("Success")],
         states={MID: "delivered"}, reports=1),
    Case("same status with a new retryCount is a new report", [dlr("Failed", retry="0"), dlr("Failed", retry="1")],
         states={MID: "failed"}, reports=2),
    Case("missing retryCount counts as 0", [dlr("Success", retry=None), dlr("Success", retry="0")],
         states={MID: "delivered"}, reports=1),
    Case("retryCount that is not a number counts as 0", [dlr("Success", retry="x"), dlr("Success")],
         states={MID: "delivered"}, reports=1),
    Case("retryCount beyond 64 bits is capped, not a 500", [dlr("Success", retry="9223372036854775808")],
         states={MID: "delivered"}, reports=1),
    # unknown ids
    Case("unknown id parked as an orphan", [dlr("Success", id="ATXid_not_ours")],
         states={MID: "accepted"}, reports=1, orphans=1),
    Case("only the matching row moves", [dlr("Success", id="ATXid_b")],
         outbox={MID: "accepted", "ATXid_b": "accepted"}, states={MID: "accepted", "ATXid_b": "delivered"},
         reports=1),
    # failure reasons that act
    Case("UserInBlackList suppresses the phone", [dlr("Failed", reason="UserInBlackList")],
         states={MID: "failed"}, reasons={MID: "Failed: UserInBlackList"}, reports=1, suppressed={PHONE}),
    Case("UserInBlackList on an orphan suppresses too", [dlr("Rejected", id="ATXid_x", phone=OTHER_PHONE,
                                                             reason="UserInBlackList")],
         states={MID: "accepted"}, reports=1, orphans=1, suppressed={OTHER_PHONE}),
    Case("phone with an undecoded plus is read as E.164",
         [dlr("Failed", phone=" 992901234567", reason="UserInBlackList")],
         states={MID: "failed"}, reports=1, suppressed={PHONE}),
    Case("other failure reasons do not suppress", [dlr("Failed", reason="UserDoesNotExist")],
         states={MID: "failed"}, reasons={MID: "Failed: UserDoesNotExist"}, reports=1),
    # token
    Case("wrong token: 403, nothing stored", [dlr("Success", key="wrong", expect=403)],
         states={MID: "accepted"}),
    Case("no token: 403, nothing stored", [dlr("Success", key=None, expect=403)], states={MID: "accepted"}),
    # junk bodies: a clear 400, never a 5xx, nothing stored
    Case("JSON body is not read", [Post(body=json.dumps({"id": MID, "status": "Success"}),
                                        content_type="application/json", expect=400)],
         states={MID: "accepted"}),
    Case("empty body", [Post(body=b"", content_type="application/x-www-form-urlencoded", expect=400)],
         states={MID: "accepted"}),
    Case("garbage bytes", [Post(body=b"\xff\xfe%%%=&&id", content_type="application/x-www-form-urlencoded",
                                expect=400)], states={MID: "accepted"}),
    Case("broken multipart body", [Post(body=b"--x\r\nnot a part", content_type="multipart/form-data; boundary=x",
                                        expect=400)], states={MID: "accepted"}),
    Case("status missing", [Post(form={"id": MID}, expect=400)], states={MID: "accepted"}),
    Case("id far too long", [dlr("Success", id="A" * 300, expect=400)], states={MID: "accepted"}),
    # opt-out notices
    Case("opt-out notice suppresses the phone", [optout()], suppressed={PHONE}),
    Case("opt-out notice twice is fine", [optout(), optout()], suppressed={PHONE}),
    Case("opt-out phone with an undecoded plus", [optout(" 992911234568")], suppressed={OTHER_PHONE}),
    Case("opt-out without a phone", [Post(form={"senderId": "DEHQON"}, path="/sms/optout", expect=400)]),
    Case("opt-out with a phone that is not one", [optout("not-a-phone", expect=400)]),
    Case("opt-out wrong token: 403, nothing stored", [optout(key="wrong", expect=403)]),
    Case("opt-out JSON body", [Post(body=json.dumps({"phoneNumber": PHONE}), content_type="application/json",
                                    path="/sms/optout", expect=400)]),
]


@dataclass
class MatchCase:
    """Reconciling ``unconfirmed`` rows with orphan reports (``service.messaging.delivery``, rule 1-3).

    ``rows``: label → (state, message id or None, phone, minutes before the reports that the
    row was handed to AT); ``posts``: delivery reports in order; ``expect``: label → (state,
    message id) afterwards; ``orphans``: reports left parked.
    """

    label: str
    rows: dict[str, tuple[str, str | None, str, float]]
    posts: list[Post]
    expect: dict[str, tuple[str, str | None]]
    orphans: int = 0


NEW = "ATXid_a1b2c3d4e5f60718293a4b5c6d7e8f90"
NEW2 = "ATXid_0f9e8d7c6b5a49382716f5e4d3c2b1a0"
UNSEEN = ("unconfirmed", None, PHONE, 5)  # a read timeout five minutes ago

MATCH_CASES = [
    MatchCase("Success for an unknown id delivers the phone's unconfirmed row", {"u": UNSEEN},
              [dlr("Success", id=NEW)], {"u": ("delivered", NEW)}),
    MatchCase("Sent moves the matched row to in_transit", {"u": UNSEEN}, [dlr("Sent", id=NEW)],
              {"u": ("in_transit", NEW)}),
    MatchCase("Failed fails the matched row", {"u": UNSEEN}, [dlr("Failed", id=NEW, reason="DeliveryFailure")],
              {"u": ("failed", NEW)}),
    MatchCase("a later report of the matched id applies directly", {"u": UNSEEN},
              [dlr("Buffered", id=NEW), dlr("Success", id=NEW)], {"u": ("delivered", NEW)}),
    MatchCase("the earliest unconfirmed row of the phone first",
              {"old": ("unconfirmed", None, PHONE, 30), "new": ("unconfirmed", None, PHONE, 10)},
              [dlr("Success", id=NEW), dlr("Sent", id=NEW2)],
              {"old": ("delivered", NEW), "new": ("in_transit", NEW2)}),
    MatchCase("a row sent more than 2 h before the report is not matched",
              {"u": ("unconfirmed", None, PHONE, 121)}, [dlr("Success", id=NEW)], {"u": ("unconfirmed", None)},
              orphans=1),
    MatchCase("a row sent after the report is not matched", {"u": ("unconfirmed", None, PHONE, -5)},
              [dlr("Success", id=NEW)], {"u": ("unconfirmed", None)}, orphans=1),
    MatchCase("another phone's row is not matched", {"u": ("unconfirmed", None, OTHER_PHONE, 5)},
              [dlr("Success", id=NEW)], {"u": ("unconfirmed", None)}, orphans=1),
    MatchCase("a report without a phone stays an orphan", {"u": UNSEEN}, [dlr("Success", id=NEW, phone="")],
              {"u": ("unconfirmed", None)}, orphans=1),
    MatchCase("an unconfirmed row that has a message id is matched by its id only",
              {"u": ("unconfirmed", MID, PHONE, 5)}, [dlr("Success", id=NEW)], {"u": ("unconfirmed", MID)},
              orphans=1),
    MatchCase("no match while the phone has a row in flight",
              {"u": UNSEEN, "flying": ("sending", None, PHONE, 0.5)}, [dlr("Success", id=NEW)],
              {"u": ("unconfirmed", None), "flying": ("sending", None)}, orphans=1),
    MatchCase("failed and queued rows are never matched",
              {"f": ("failed", None, PHONE, 5), "q": ("queued", None, PHONE, 5)}, [dlr("Success", id=NEW)],
              {"f": ("failed", None), "q": ("queued", None)}, orphans=1),
]


# ---- control characters in every field (stripped at the door: never a 503, AT must not retry for ever)
NUL = "\x00"
_FAILED = {"id": MID, "status": "Failed", "phoneNumber": PHONE, "networkCode": "43601",
           "failureReason": "UserInBlackList", "retryCount": "1"}
_RAW = {"gateway_message_id": MID, "status": "Failed", "phone": PHONE, "network_code": "43601",
        "failure_reason": "UserInBlackList", "retry_count": 1, "applied": True}


def _with_nul(value: str) -> str:
    return value[:1] + NUL + value[1:]


CASES += [
    Case(f"%00 in {name} is stripped: stored and applied", [Post(form={**_FAILED, name: _with_nul(value)})],
         states={MID: "failed"}, reasons={MID: "Failed: UserInBlackList"}, reports=1, suppressed={PHONE},
         report=_RAW)
    for name, value in _FAILED.items()
] + [
    Case("%00 in every field of a report", [Post(form={k: _with_nul(v) for k, v in _FAILED.items()})],
         states={MID: "failed"}, reports=1, suppressed={PHONE}, report=_RAW),
    Case("%00 alone as networkCode: stored without one",
         [Post(form={**_FAILED, "networkCode": NUL, "failureReason": "DeliveryFailure"})],
         states={MID: "failed"}, reports=1, report={"network_code": None, "failure_reason": "DeliveryFailure"}),
    Case("other control characters in status are stripped", [Post(form={**_FAILED, "status": "\x1bSuc\x7fcess\x85"})],
         states={MID: "delivered"}, reports=1, suppressed={PHONE}, report={"status": "Success"}),
    Case("%00 in senderId of an opt-out notice",
         [Post(form={"senderId": _with_nul("DEHQON"), "phoneNumber": PHONE}, path="/sms/optout")],
         suppressed={PHONE}),
    Case("%00 in phoneNumber of an opt-out notice", [optout(_with_nul(PHONE))], suppressed={PHONE}),
    Case("a report body over 64 KiB: 413, nothing stored",
         [Post(form={**_FAILED, "failureReason": "x" * 70_000}, expect=413)], states={MID: "accepted"}),
    Case("a report of 150 fields: 413, nothing stored",
         [Post(form={**_FAILED, **{f"f{i}": "1" for i in range(150)}}, expect=413)], states={MID: "accepted"}),
    Case("an opt-out body over 64 KiB: 413, nothing stored",
         [Post(form={"senderId": "x" * 70_000, "phoneNumber": PHONE}, path="/sms/optout", expect=413)]),
]
