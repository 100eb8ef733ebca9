"""Proving who one is, on moto: the SMS and certificate-number proofs and their races, single
use of a code under concurrency, what a take-over does to the account that loses the document,
the send limits, password resets, contacts, export and deletion - and no code or full phone
number in any log line."""

from __future__ import annotations

import logging
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from chalicelib import deps
from chalicelib.content import current_notice
from chalicelib.domain.accounts import ProofMethod, User
from chalicelib.domain.annotations import Annotation, AnnotationStatus
from chalicelib.domain.batches import RowStamp
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.codes import SendLimits
from chalicelib.domain.errors import (
    IdDocumentClaimed,
    IdentityNotVerified,
    InvalidCode,
    ProofFailed,
    RateLimited,
    Unauthorized,
    WrongPassword,
)
from chalicelib.notify import Message
from chalicelib.services import account_data, accounts, annotating, notifying
from chalicelib.services.codes import Codes
from chalicelib.services.contacts import ContactVerification, NewContact
from chalicelib.services.identity import Identity, give_back_copies
from chalicelib.services.passwords import Identifier, PasswordReset
from tests.fakes import FixedClock, PlainHasher
from tests.integration.test_accounts import a_resident_id, authenticate, login, passwords, register, registration
from tests.integration.test_annotations import NOW, RecordingQueue, a_certificate, apply, render

# A batch row that set a phone on record.
STAMP = RowStamp("2026-11-20T00:00:00.000000Z#0000000001", "v1#1")
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


class RecordingOutbox:
    """Stands in for the notify queue: keeps what would be sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, message: Message) -> None:
        self.messages.append(message)

    def code_to(self, address: str) -> str:
        texts = [m.text for m in self.messages if m.to == address]
        assert texts, f"nothing was sent to {address}"
        found = CODE.findall(texts[-1])
        assert len(found) == 1, texts[-1]
        return str(found[0])


def a_phone() -> str:
    return "13" + str(secrets.randbelow(10)) + f"{secrets.randbelow(10**8):08d}"


@pytest.fixture()
def outbox() -> RecordingOutbox:
    return RecordingOutbox()


def codes(repo, outbox: RecordingOutbox, **limits: int) -> Codes:  # type: ignore[no-untyped-def]
    generous = {"per_minute": 10**9, "per_hour": 1000, "per_day": 1000, "per_client_hour": 1000,
                "wrong_tries_per_day": 1000}
    return Codes(store=repo.limits, outbox=outbox, digest=deps.id_hasher(),
                 limits=SendLimits(**{**generous, **limits}))


def identity(repo, outbox: RecordingOutbox, **limits: int) -> Identity:  # type: ignore[no-untyped-def]
    return Identity(documents=repo.accounts, certificates=repo, copies=repo.annotations, attempts=repo.limits,
                    codes=codes(repo, outbox, **limits))


def a_document(repo, phone: str | None, name: str = "王芳") -> tuple[str, Certificate]:  # type: ignore[no-untyped-def]
    """An ID number with one certificate on record and, if given, a phone on record."""
    id_number = a_resident_id()
    holder_key = deps.id_hasher()("resident_id", id_number)
    cert = a_certificate(repo, holder_key=holder_key)
    cert = replace(cert, holder_name=name)
    repo.put_certificate(cert, NOW)
    if phone:
        assert repo.accounts.record_phone(holder_key, phone, RowStamp("2026-11-01T00:00:00.000000Z#0000000001", "v0#1"))
    return id_number, cert


def an_account(repo, id_number: str) -> User:  # type: ignore[no-untyped-def]
    return register(repo, registration(id_number=id_number), NOW)


def fresh(repo, user: User) -> User:  # type: ignore[no-untyped-def]
    found = repo.accounts.user(user.user_id)
    assert found is not None
    return found


def a_code_sent(repo, outbox: RecordingOutbox) -> tuple[User, Identity, str, str]:  # type: ignore[no-untyped-def]
    """An unproven account of a document with a phone on record, to which an identity code went:
    the account, the service, the phone and the code."""
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    user = an_account(repo, id_number)
    service = identity(repo, outbox)
    service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
    return user, service, phone, outbox.code_to(phone)


def prove_by_sms(repo, outbox: RecordingOutbox, user: User, phone: str) -> bool:  # type: ignore[no-untyped-def]
    service = identity(repo, outbox)
    service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
    return service.prove_by_sms(fresh(repo, user), outbox.code_to(phone), now=NOW)


# --- the proofs --------------------------------------------------------------------------------

def test_an_sms_code_to_the_phone_on_record_proves_the_document_and_shows_its_certificates(repo, outbox) -> None:
    phone = a_phone()
    id_number, cert = a_document(repo, phone)
    user = an_account(repo, id_number)
    assert prove_by_sms(repo, outbox, user, phone) is False
    proven = fresh(repo, user)
    assert proven.proof is ProofMethod.SMS and proven.verified_phone == phone
    assert [c.certificate_id for c in repo.certificates_of(proven.id_hash)] == [cert.certificate_id]
    later = a_certificate(repo, holder_key=proven.id_hash)  # loaded after the proof: shown at once
    assert later.certificate_id in {c.certificate_id for c in repo.certificates_of(proven.id_hash)}


def test_without_a_phone_on_record_the_code_goes_nowhere_and_proves_nothing(repo, outbox) -> None:
    id_number, _ = a_document(repo, None)
    user = an_account(repo, id_number)
    service = identity(repo, outbox)
    assert service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW) == 300
    assert [m.to for m in outbox.messages] == [None]  # queued all the same, so it takes as long
    for guess in ("000000", "123456"):
        with pytest.raises(InvalidCode):
            service.prove_by_sms(user, guess, now=NOW)


def test_a_certificate_number_and_the_name_prove_a_document_without_a_phone_on_record(repo, outbox) -> None:
    id_number, cert = a_document(repo, None, name="王芳")
    user = an_account(repo, id_number)
    service = identity(repo, outbox)
    with pytest.raises(ProofFailed):
        service.prove_by_certificate(user, cert.certificate_no, "王 芳", now=NOW)
    assert service.prove_by_certificate(user, f" {cert.certificate_no} ", " 王芳 ", now=NOW) is False
    assert fresh(repo, user).proof is ProofMethod.CERTIFICATE_NO


def test_a_certificate_number_proves_nothing_where_a_phone_is_on_record_or_for_another_document(repo, outbox) -> None:
    id_number, cert = a_document(repo, a_phone(), name="王芳")
    other_id, other_cert = a_document(repo, None, name="王芳")
    service = identity(repo, outbox)
    with pytest.raises(ProofFailed):
        service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "王芳", now=NOW)
    with pytest.raises(ProofFailed):  # 王芳's certificate, but another ID document's account
        service.prove_by_certificate(an_account(repo, other_id), cert.certificate_no, "王芳", now=NOW)
    assert service.prove_by_certificate(an_account(repo, other_id), other_cert.certificate_no, "王芳", now=NOW) is False


def test_five_failed_certificate_number_proofs_of_a_document_stop_every_account_for_a_day(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    service = identity(repo, outbox)
    for _ in range(5):
        with pytest.raises(ProofFailed):
            service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "李鬼", now=NOW)
    with pytest.raises(RateLimited) as limited:
        service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "王芳", now=NOW)
    assert 0 < limited.value.retry_after_seconds <= 24 * 3600
    assert service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "王芳",
                                        now=NOW + timedelta(hours=24, seconds=1)) is False


def test_a_certificate_number_proof_takes_the_document_from_nobody(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    service = identity(repo, outbox)
    first = an_account(repo, id_number)
    service.prove_by_certificate(first, cert.certificate_no, "王芳", now=NOW)
    with pytest.raises(IdDocumentClaimed):
        service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "王芳", now=NOW)
    assert fresh(repo, first).proven


def test_ten_accounts_racing_to_prove_one_document_by_certificate_number_leave_exactly_one(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    users = [an_account(repo, id_number) for _ in range(10)]
    service = identity(repo, outbox)

    def attempt(user: User) -> str:
        try:
            service.prove_by_certificate(user, cert.certificate_no, "王芳", now=NOW)
            return "proven"
        except IdDocumentClaimed:
            return "claimed"
        except RateLimited:
            return "later"  # counted as a failure while the others were being checked

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, users))
    assert outcomes.count("proven") == 1 and outcomes.count("claimed") + outcomes.count("later") == 9
    assert sum(fresh(repo, u).proven for u in users) == 1


def test_ten_accounts_racing_to_prove_one_document_by_sms_leave_exactly_one_holding_it(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    users = [an_account(repo, id_number) for _ in range(10)]
    service = identity(repo, outbox)
    code_of = {}
    for user in users:
        service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
        code_of[user.user_id] = outbox.code_to(phone)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda u: service.prove_by_sms(fresh(repo, u), code_of[u.user_id], now=NOW), users))
    proven = [u for u in users if fresh(repo, u).proven]
    assert len(proven) == 1
    assert repo.accounts.document(proven[0].id_hash).user_id == proven[0].user_id


def test_ten_parallel_submissions_of_one_right_code_prove_exactly_once(repo, outbox) -> None:
    user, service, _, code = a_code_sent(repo, outbox)

    def attempt(_: int) -> str:
        try:
            service.prove_by_sms(user, code, now=NOW)
            return "proven"
        except InvalidCode:
            return "used"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    assert outcomes.count("proven") == 1 and outcomes.count("used") == 9


def test_a_code_is_void_after_five_wrong_tries_and_after_five_minutes_and_a_resend_voids_the_last(repo,
                                                                                                 outbox) -> None:
    user, service, phone, code = a_code_sent(repo, outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(InvalidCode):
            service.prove_by_sms(user, wrong, now=NOW)
    with pytest.raises(InvalidCode):
        service.prove_by_sms(user, code, now=NOW)
    service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
    first = outbox.code_to(phone)
    service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
    second = outbox.code_to(phone)
    if first != second:
        with pytest.raises(InvalidCode):
            service.prove_by_sms(user, first, now=NOW)
    with pytest.raises(InvalidCode):
        service.prove_by_sms(user, second, now=NOW + timedelta(minutes=5))
    service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
    assert service.prove_by_sms(user, outbox.code_to(phone), now=NOW + timedelta(minutes=4, seconds=59)) is False


# --- take-over ---------------------------------------------------------------------------------

def test_an_sms_proof_takes_the_document_ends_the_sessions_and_withdraws_the_copies_of_the_squatter(
        repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    squatter_form = registration(id_number=id_number)
    squatter = register(repo, squatter_form, NOW)
    identity(repo, outbox).prove_by_certificate(squatter, cert.certificate_no, "王芳", now=NOW)
    session = login(repo, squatter_form, NOW)
    _, caller = authenticate(repo, session, NOW)
    copy = apply(repo, repo.certificate(cert.certificate_id), account_id=caller.user_id)
    render(copy.annotation_id)
    # The issuing authority records the real holder's phone; the real holder proves by SMS.
    phone = a_phone()
    assert repo.accounts.record_phone(cert.holder_key, phone, STAMP)
    real = an_account(repo, id_number)
    assert prove_by_sms(repo, outbox, real, phone) is True
    with pytest.raises(Unauthorized):
        authenticate(repo, session, NOW)
    assert not fresh(repo, squatter).proven
    withdrawn = repo.annotations.annotation(copy.annotation_id)
    assert withdrawn.stored_status is AnnotationStatus.WITHDRAWN
    assert not repo.certificate(cert.certificate_id).quota_slots  # its slot given back
    again = login(repo, squatter_form, NOW)  # the squatter may still sign in, and sees nothing
    assert authenticate(repo, again, NOW)[1].holder_key is None


def test_the_account_that_lost_the_document_is_told_through_its_verified_contacts(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    first = an_account(repo, id_number)
    prove_by_sms(repo, outbox, first, phone)
    second = an_account(repo, id_number)
    assert prove_by_sms(repo, outbox, second, phone) is True
    notices = [m for m in outbox.messages if m.subject == "账号身份核验已解除"]
    assert [m.to for m in notices] == [phone] and first.username in notices[0].text


# --- send limits -------------------------------------------------------------------------------

def test_one_code_a_minute_five_an_hour_and_ten_a_day_reach_one_phone(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    user = an_account(repo, id_number)
    service = identity(repo, outbox, per_minute=1, per_hour=5, per_day=10)
    clock = FixedClock(NOW)
    service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=clock())
    with pytest.raises(RateLimited) as limited:
        service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=clock.advance(seconds=30))
    assert limited.value.retry_after_seconds == 30  # the time left of the minute
    for _ in range(4):
        service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=clock.advance(minutes=1))
    with pytest.raises(RateLimited):  # the sixth within the hour
        service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=clock.advance(minutes=1))
    strangers = [an_account(repo, id_number) for _ in range(6)]
    sent = sum(1 for m in outbox.messages if m.to == phone)
    for stranger in strangers:
        try:
            service.send_code(stranger.user_id, stranger.id_hash, client=f"203.0.113.{secrets.randbelow(250)}",
                              now=clock())
        except RateLimited:
            continue
    assert sum(1 for m in outbox.messages if m.to == phone) - sent == 5  # ten a day in all
    assert len([m for m in outbox.messages if m.to == phone]) == 10


def test_one_client_address_may_ask_for_twenty_codes_an_hour(repo, outbox) -> None:
    service = identity(repo, outbox, per_client_hour=20)
    client = f"203.0.113.{secrets.randbelow(250)}-{secrets.token_hex(2)}"
    for _ in range(20):
        id_number, _ = a_document(repo, a_phone())
        user = an_account(repo, id_number)
        service.send_code(user.user_id, user.id_hash, client=client, now=NOW)
    id_number, _ = a_document(repo, a_phone())
    user = an_account(repo, id_number)
    with pytest.raises(RateLimited):
        service.send_code(user.user_id, user.id_hash, client=client, now=NOW)


def test_ten_wrong_codes_a_day_to_one_destination_stop_its_codes_until_the_next_day(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    service = identity(repo, outbox, wrong_tries_per_day=10)
    users = [an_account(repo, id_number) for _ in range(3)]
    for user in users:
        service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
    tried = 0
    for user in users:
        for _ in range(4):
            try:
                service.prove_by_sms(user, "000000" if tried % 2 else "999999", now=NOW)
            except InvalidCode:
                tried += 1
            except RateLimited:
                break
    assert tried == 10
    service.send_code(users[0].user_id, users[0].id_hash, client="198.51.100.1", now=NOW)
    with pytest.raises(RateLimited):
        service.prove_by_sms(users[0], outbox.code_to(phone), now=NOW)


# --- passwords, contacts, export and deletion ---------------------------------------------------

def resets(repo, outbox: RecordingOutbox) -> PasswordReset:  # type: ignore[no-untyped-def]
    return PasswordReset(accounts=repo.accounts, codes=codes(repo, outbox), id_hash=deps.id_hasher(),
                         hasher=PlainHasher())


def test_a_password_is_reset_by_username_ending_every_session_and_clearing_every_lock(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    form = registration(id_number=id_number)
    user = register(repo, form, NOW)
    prove_by_sms(repo, outbox, user, phone)
    session = login(repo, form, NOW)
    for _ in range(5):
        with pytest.raises((accounts.InvalidCredentials, accounts.AccountLocked)):
            login(repo, form, NOW, password="Wrong#2026", client="198.51.100.1")
    service = resets(repo, outbox)
    service.forgot(Identifier(username=form.username.upper()), client="198.51.100.1", now=NOW)
    assert service.reset(Identifier(username=form.username), outbox.code_to(phone), "Another#2026",
                         now=NOW) == form.username
    with pytest.raises(Unauthorized):
        authenticate(repo, session, NOW)
    assert login(repo, form, NOW, password="Another#2026", client="198.51.100.1")
    assert [m.subject for m in outbox.messages if m.to == phone][-1] == "账号密码已重置"


def test_a_forgotten_username_is_found_through_the_id_document_and_the_phone_on_record(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    user = an_account(repo, id_number)
    prove_by_sms(repo, outbox, user, phone)
    service = resets(repo, outbox)
    who = Identifier(id_type="resident_id", id_number=id_number)
    service.forgot(who, client="198.51.100.1", now=NOW)
    assert service.reset(who, outbox.code_to(phone), "Another#2026", now=NOW) == user.username


def test_a_reset_for_nobody_sends_nothing_and_fails_like_a_wrong_code(repo, outbox) -> None:
    service = resets(repo, outbox)
    unproven_id, _ = a_document(repo, a_phone())
    an_account(repo, unproven_id)  # an account, but none proven: nobody to reset
    for who in (Identifier(username="nobody_" + secrets.token_hex(3)),
                Identifier(id_type="resident_id", id_number=a_resident_id()),
                Identifier(id_type="resident_id", id_number=unproven_id)):
        service.forgot(who, client="198.51.100.1", now=NOW)
        with pytest.raises(InvalidCode):
            service.reset(who, "123456", "Another#2026", now=NOW)
    assert [m.to for m in outbox.messages] == [None, None, None]


def test_a_new_phone_is_verified_with_a_code_to_it_and_the_old_one_is_told(repo, outbox) -> None:
    phone, new_phone = a_phone(), a_phone()
    id_number, _ = a_document(repo, phone)
    form = registration(id_number=id_number)
    user = register(repo, form, NOW)
    prove_by_sms(repo, outbox, user, phone)
    service = ContactVerification(store=repo.accounts, passwords=passwords(repo), codes=codes(repo, outbox))
    contact = NewContact.parse("phone", new_phone)
    with pytest.raises(WrongPassword):
        service.send_code(fresh(repo, user), contact, "Wrong#2026", client="198.51.100.1", now=NOW)
    assert service.send_code(fresh(repo, user), contact, form.password, client="198.51.100.1", now=NOW)["sent_to"] \
        == f"{new_phone[:3]}****{new_phone[-4:]}"
    service.confirm(fresh(repo, user), contact, outbox.code_to(new_phone), now=NOW)
    assert fresh(repo, user).verified_phone == new_phone
    assert outbox.messages[-1].to == phone and "已更改" in outbox.messages[-1].text


def test_an_unproven_account_can_verify_no_contact(repo, outbox) -> None:
    form = registration()
    user = register(repo, form, NOW)
    service = ContactVerification(store=repo.accounts, passwords=passwords(repo), codes=codes(repo, outbox))
    with pytest.raises(IdentityNotVerified):
        service.send_code(user, NewContact.parse("email", "a@example.com"), form.password, client="x", now=NOW)


def test_deleting_an_account_withdraws_its_copies_and_frees_the_document_for_another(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    form = registration(id_number=id_number)
    user = register(repo, form, NOW)
    identity(repo, outbox).prove_by_certificate(user, cert.certificate_no, "王芳", now=NOW)
    copy = apply(repo, repo.certificate(cert.certificate_id), account_id=user.user_id)
    render(copy.annotation_id)
    session = login(repo, form, NOW)
    deletion = account_data.Deletion(store=repo.accounts, passwords=passwords(repo), certificates=repo,
                                     copies=repo.annotations)
    with pytest.raises(WrongPassword):
        deletion.delete(fresh(repo, user), "Wrong#2026", client="198.51.100.1", now=NOW)
    deletion.delete(fresh(repo, user), form.password, client="198.51.100.1", now=NOW)
    with pytest.raises(Unauthorized):
        authenticate(repo, session, NOW)
    assert repo.accounts.user(user.user_id) is None and repo.accounts.user_by_username(form.username) is None
    assert repo.annotations.annotation(copy.annotation_id).stored_status is AnnotationStatus.WITHDRAWN
    assert repo.certificate(cert.certificate_id) is not None  # the issuer's record stays
    newcomer = an_account(repo, id_number)
    assert identity(repo, outbox).prove_by_certificate(newcomer, cert.certificate_no, "王芳", now=NOW) is False


def test_the_export_holds_the_account_and_for_a_proven_one_its_certificates_copies_and_checks(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    user = an_account(repo, id_number)
    notice = current_notice()

    def view(a: Annotation) -> dict[str, str]:
        return {"annotation_id": a.annotation_id}

    before = account_data.export(user, notice=notice, certificates_of=repo, copies=repo.annotations,
                                 checks=repo.verifications,
                                 annotation_view=view)
    assert before["certificates"] == [] and before["account"]["identity_verified"] is False
    identity(repo, outbox).prove_by_certificate(user, cert.certificate_no, "王芳", now=NOW)
    copy = apply(repo, repo.certificate(cert.certificate_id), account_id=user.user_id)
    after = account_data.export(fresh(repo, user), notice=notice, certificates_of=repo, copies=repo.annotations,
                                 checks=repo.verifications,
                                annotation_view=view)
    assert [c["certificate_no"] for c in after["certificates"]] == [cert.certificate_no]
    assert after["annotations"] == [{"annotation_id": copy.annotation_id}]
    assert "password" not in str(after) and id_number not in str(after)


# --- the notifier, and the logs ----------------------------------------------------------------

class RecordingDeliverer:
    def __init__(self, fail: bool = False) -> None:
        self.delivered: list[Message] = []
        self.fail = fail

    def deliver(self, message: Message) -> None:
        if self.fail:
            raise RuntimeError("SNS is down")
        self.delivered.append(message)


def test_the_notifier_sends_each_message_once_however_often_it_comes_and_retries_a_failure(repo) -> None:
    message = Message(channel="sms", to=a_phone(), subject="s", text="验证码 123456").to_json()
    failing = RecordingDeliverer(fail=True)
    batch = [notifying.QueuedMessage("r1", message)]
    assert notifying.process_batch(batch, claims=repo.limits, deliverer=failing, now=NOW) == ["r1"]
    working = RecordingDeliverer()
    for _ in range(3):
        assert notifying.process_batch(batch, claims=repo.limits, deliverer=working, now=NOW) == []
    assert len(working.delivered) == 1


def test_the_real_notifier_sends_sms_through_sns_and_email_through_ses(repo) -> None:
    import boto3

    deps.notifier().deliver(Message(channel="email", to="zs@example.com", subject="测试", text="内容"))
    deps.notifier().deliver(Message(channel="sms", to="13800138000", subject="测试", text="内容"))
    assert boto3.client("ses").get_send_quota()["SentLast24Hours"] >= 1


def test_no_code_and_no_full_phone_number_reach_a_log_line(repo, outbox, caplog) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    user = an_account(repo, id_number)
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    service = identity(repo, outbox)
    service.send_code(user.user_id, user.id_hash, client="198.51.100.1", now=NOW)
    code = outbox.code_to(phone)
    notifying.process_batch([notifying.QueuedMessage("r", m.to_json()) for m in outbox.messages],
                            claims=repo.limits, deliverer=deps.notifier(), now=NOW)
    with pytest.raises(InvalidCode):
        service.prove_by_sms(user, "000000" if code != "000000" else "111111", now=NOW)
    service.prove_by_sms(user, code, now=NOW)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "the notifier logs what it sent"
    assert code not in text and phone not in text


def test_proving_again_with_a_stale_read_of_the_account_changes_nothing_and_fails_nothing(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    user = an_account(repo, id_number)  # as read before its proof
    service = identity(repo, outbox)
    service.prove_by_certificate(fresh(repo, user), cert.certificate_no, "王芳", now=NOW)
    assert service.take(user, ProofMethod.CERTIFICATE_NO, now=NOW) is False
    assert repo.accounts.document(user.id_hash).user_id == user.user_id and fresh(repo, user).proven


def test_twenty_parallel_wrong_guesses_use_up_a_code_and_no_more_than_five_are_compared(repo, outbox) -> None:
    user, service, _, code = a_code_sent(repo, outbox)
    wrong = [f"{(int(code) + i) % 10**6:06d}" for i in range(1, 21)]

    def guess(code: str) -> None:
        with pytest.raises(InvalidCode):
            service.prove_by_sms(user, code, now=NOW)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(guess, wrong))
    assert repo.limits.code(f"identity#{user.user_id}").tries == 5
    with pytest.raises(InvalidCode):
        service.prove_by_sms(user, code, now=NOW)


def test_guesses_without_a_code_count_nothing_so_a_stranger_cannot_use_up_the_holders_tries(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    service = identity(repo, outbox, wrong_tries_per_day=10)
    stranger, holder = an_account(repo, id_number), an_account(repo, id_number)
    for _ in range(30):
        with pytest.raises(InvalidCode):
            service.prove_by_sms(stranger, "000000", now=NOW)
    assert prove_by_sms(repo, outbox, holder, phone) is False


def test_tries_of_identity_codes_tell_nothing_about_resets_of_the_same_destination(repo, outbox) -> None:
    phone = a_phone()
    id_number, _ = a_document(repo, phone)
    form = registration(id_number=id_number)
    user = register(repo, form, NOW)
    prove_by_sms(repo, outbox, user, phone)
    service = identity(repo, outbox, wrong_tries_per_day=10)
    stranger = an_account(repo, id_number)
    for _ in range(2):
        service.send_code(stranger.user_id, stranger.id_hash, client="198.51.100.1", now=NOW)
        for _ in range(5):
            with pytest.raises((InvalidCode, RateLimited)):
                service.prove_by_sms(stranger, "000000", now=NOW)
    service.send_code(stranger.user_id, stranger.id_hash, client="198.51.100.1", now=NOW)
    with pytest.raises(RateLimited):  # identity codes to this phone: tried ten times today
        service.prove_by_sms(stranger, outbox.code_to(phone), now=NOW)
    reset = PasswordReset(accounts=repo.accounts, codes=codes(repo, outbox, wrong_tries_per_day=10),
                          id_hash=deps.id_hasher(), hasher=PlainHasher())
    who = Identifier(id_type="resident_id", id_number=id_number)
    reset.forgot(who, client="198.51.100.1", now=NOW)
    assert reset.reset(who, outbox.code_to(phone), "Another#2026", now=NOW) == form.username


def test_the_case_of_an_e_mail_address_does_not_make_another_destination_for_the_limits(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    form = registration(id_number=id_number)
    user = register(repo, form, NOW)
    identity(repo, outbox).prove_by_certificate(user, cert.certificate_no, "王芳", now=NOW)
    service = ContactVerification(store=repo.accounts, passwords=passwords(repo),
                                  codes=codes(repo, outbox, per_day=10))
    local = "victim" + secrets.token_hex(3)
    variants = [local[:i] + local[i].upper() + local[i + 1:] for i in range(len(local))]
    for variant in variants[:10]:
        service.send_code(fresh(repo, user), NewContact.parse("email", f"{variant}@example.com"), form.password,
                          client=f"198.51.100.{secrets.randbelow(250)}", now=NOW)
    with pytest.raises(RateLimited):
        service.send_code(fresh(repo, user), NewContact.parse("email", f"{variants[10]}@example.com"), form.password,
                          client="198.51.100.251", now=NOW)


def test_fifty_certificate_number_proofs_sent_at_once_get_five_checked_and_the_rest_refused(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    service = identity(repo, outbox)
    squatters = [an_account(repo, id_number) for _ in range(5)]

    def attempt(i: int) -> str:
        try:
            service.prove_by_certificate(squatters[i % 5], f"YS2025{i:07d}", "王芳", now=NOW)
        except ProofFailed:
            return "failed"
        except RateLimited:
            return "refused"
        return "proven"

    with ThreadPoolExecutor(max_workers=25) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("failed") <= 5 and outcomes.count("refused") >= 45, outcomes
    with pytest.raises(RateLimited):
        service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "王芳", now=NOW)


def test_a_right_certificate_number_proof_is_not_counted_as_a_failure(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    service = identity(repo, outbox)
    for _ in range(4):
        with pytest.raises(ProofFailed):
            service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "李鬼", now=NOW)
    holder = an_account(repo, id_number)
    assert service.prove_by_certificate(holder, cert.certificate_no, "王芳", now=NOW) is False
    with pytest.raises(IdDocumentClaimed):  # the fifth proof is told, not refused: the right one was taken back
        service.prove_by_certificate(an_account(repo, id_number), cert.certificate_no, "王芳", now=NOW)


def test_an_application_under_way_when_its_account_loses_the_document_makes_no_copy(repo, outbox) -> None:
    phone = a_phone()
    id_number, cert = a_document(repo, phone)
    first = an_account(repo, id_number)
    prove_by_sms(repo, outbox, first, phone)
    prove_by_sms(repo, outbox, an_account(repo, id_number), phone)  # takes it while `first`'s request runs
    with pytest.raises(IdentityNotVerified):
        annotating.apply(repo.certificate(cert.certificate_id), {"scenario": "self_use"}, account_id=first.user_id,
                         store=repo.annotations, queue=RecordingQueue(), now=NOW)
    assert not repo.certificate(cert.certificate_id).quota_slots


class Copies:
    """The copies as a take-over sees them: the repository's, with something happening at the
    first give-back (`first`)."""

    def __init__(self, repo) -> None:  # type: ignore[no-untyped-def]
        self.repo, self.happened = repo, False

    def annotation(self, annotation_id: str) -> Annotation | None:
        return self.repo.annotations.annotation(annotation_id)

    def annotations_of(self, certificate_id: str, limit: int | None = None) -> list[Annotation]:
        return self.repo.annotations.annotations_of(certificate_id, limit)

    def give_back(self, annotation: Annotation, now: datetime) -> bool:
        if not self.happened:
            self.happened = True
            self.first(annotation)
        return bool(self.repo.annotations.give_back(annotation, now))

    def first(self, annotation: Annotation) -> None:
        raise NotImplementedError


class ReadyMeanwhile(Copies):
    """The render finishes between the take-over's read and its write: the first give-back of a
    pending copy finds it ready."""

    def first(self, annotation: Annotation) -> None:
        render(annotation.annotation_id)


def test_a_copy_that_becomes_ready_while_the_take_over_withdraws_it_is_withdrawn_all_the_same(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    squatter = an_account(repo, id_number)
    identity(repo, outbox).prove_by_certificate(squatter, cert.certificate_no, "王芳", now=NOW)
    copy = apply(repo, repo.certificate(cert.certificate_id), account_id=squatter.user_id)
    assert give_back_copies(squatter.id_hash, made_by=lambda account: account == squatter.user_id, certificates=repo,
                            copies=ReadyMeanwhile(repo), now=NOW) == 1
    assert repo.annotations.annotation(copy.annotation_id).stored_status is AnnotationStatus.WITHDRAWN


class FailingOnce(Copies):
    """The first give-back fails, as a timeout or a throttle would."""

    def first(self, annotation: Annotation) -> None:
        raise RuntimeError("DynamoDB timed out")


def test_copies_a_failed_take_over_left_live_are_withdrawn_at_the_holders_next_proof(repo, outbox) -> None:
    id_number, cert = a_document(repo, None)
    squatter = an_account(repo, id_number)
    identity(repo, outbox).prove_by_certificate(squatter, cert.certificate_no, "王芳", now=NOW)
    copy = apply(repo, repo.certificate(cert.certificate_id), account_id=squatter.user_id)
    render(copy.annotation_id)
    phone = a_phone()
    repo.accounts.record_phone(cert.holder_key, phone, STAMP)
    real = an_account(repo, id_number)
    flaky = Identity(documents=repo.accounts, certificates=repo, copies=FailingOnce(repo), attempts=repo.limits,
                     codes=codes(repo, outbox))
    flaky.send_code(real.user_id, real.id_hash, client="198.51.100.1", now=NOW)
    with pytest.raises(RuntimeError):
        flaky.prove_by_sms(fresh(repo, real), outbox.code_to(phone), now=NOW)
    assert repo.annotations.annotation(copy.annotation_id).stored_status is AnnotationStatus.READY
    assert prove_by_sms(repo, outbox, real, phone) is False  # it holds the document already ...
    assert repo.annotations.annotation(copy.annotation_id).stored_status is AnnotationStatus.WITHDRAWN  # ... and now


def test_a_code_message_that_comes_after_its_code_expired_is_dropped_not_sent(repo) -> None:
    message = Message(channel="sms", to=a_phone(), subject="s", text="验证码 123456",
                      expires_at=NOW + timedelta(minutes=5)).to_json()
    deliverer = RecordingDeliverer()
    batch = [notifying.QueuedMessage("r1", message)]
    assert notifying.process_batch(batch, claims=repo.limits, deliverer=deliverer,
                                   now=NOW + timedelta(minutes=5)) == []
    assert deliverer.delivered == []


def test_a_failed_send_is_logged_without_the_address_or_the_error_text(repo, caplog) -> None:
    phone = a_phone()

    class Refusing:
        def deliver(self, message: Message) -> None:
            raise RuntimeError(f"Invalid parameter: PhoneNumber +86{phone}")

    caplog.set_level(logging.DEBUG, logger="chalicelib")
    batch = [notifying.QueuedMessage("r1", Message(channel="sms", to=phone, subject="s", text="t").to_json())]
    assert notifying.process_batch(batch, claims=repo.limits, deliverer=Refusing(), now=NOW) == ["r1"]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "could not be sent" in logged and phone not in logged
