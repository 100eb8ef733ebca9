"""Accounts in DynamoDB: users and their usernames, sessions, and ID documents with the phone
on record and the one proven account that holds each.

A write of a user item that was decided on what was read (a count of wrong passwords, a proof,
a deletion) is conditional on the version read (PynamoDB's VersionAttribute) and fails with
ConcurrentUpdate after a concurrent change; one that must win whatever else changed (a new
password, a verified contact, ending the sessions, the notice) only bumps the version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.constants import UPDATED_NEW
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.accounts import (
    UNPROVEN_ACCOUNT_LIFETIME,
    Attempts,
    Caller,
    IdDocument,
    ProofMethod,
    SessionState,
    User,
)
from chalicelib.domain.batches import RowStamp
from chalicelib.domain.errors import ConcurrentUpdate, UsernameTaken
from chalicelib.domain.identity import username_key
from chalicelib.models import (
    AttemptsModel,
    IdDocumentModel,
    ImportFileModel,
    PhoneRecordModel,
    RevokedTokenModel,
    UserKeyModel,
    UserModel,
)
from chalicelib.repositories.base import batch_get, cancelled_items, conditional_failed, update_returning_nothing
from chalicelib.repositories.limits import attempts_item


def username_item_key(username_key: str) -> str:
    return f"username#{username_key}"


def document_item_key(holder_key: str) -> str:
    return f"id#{holder_key}"


def phone_item_key(holder_key: str) -> str:
    return f"phone#{holder_key}"


class AccountRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # --- users ---------------------------------------------------------------------------------

    def create_user(self, user: User) -> None:
        """Write the user and claim its username, all or nothing. A username held by an account
        that was never proven and is past its 30 days is free again (TTL may not have run)."""
        expires_at = user.created_at + UNPROVEN_ACCOUNT_LIFETIME
        model = user_model(user)
        model.expires_at = expires_at
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(UserKeyModel(username_item_key(username_key(user.username)), user_id=user.user_id,
                                     expires_at=expires_at),
                        condition=UserKeyModel.key.does_not_exist() | (UserKeyModel.expires_at <= user.created_at))
                tx.save(model, condition=UserModel.user_id.does_not_exist())
        except TransactWriteError as e:
            failed = cancelled_items(e)
            if failed and failed[0]:
                raise UsernameTaken() from e
            raise

    def user_by_username(self, username: str) -> User | None:
        try:
            key = UserKeyModel.get(username_item_key(username_key(username)), consistent_read=True)
        except DoesNotExist:
            return None
        return self.user(key.user_id)

    def user(self, user_id: str) -> User | None:
        try:
            return user_from(UserModel.get(user_id, consistent_read=True))
        except DoesNotExist:
            return None

    def count_password_attempt(self, user: User, key: str, before: Attempts, after: Attempts,
                               guard: Attempts) -> None:
        """Count one attempt on the client's record `key` (`before` -> `after`) and on the
        account (`guard`), all or nothing; ConcurrentUpdate if either changed since it was read."""
        pair, unchanged = attempts_item(key, before, after)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(pair, condition=unchanged)
                tx.update(_versioned(user), actions=_guard_actions(guard))
        except TransactWriteError as e:
            raise ConcurrentUpdate() from e

    def uncount_password_attempt(self, user: User, key: str, guard: Attempts) -> None:
        """A right password: the client's record goes and the account's count is `guard` again;
        ConcurrentUpdate if the account changed since it was read."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.delete(AttemptsModel(key))
                tx.update(_versioned(user), actions=_guard_actions(guard))
        except TransactWriteError as e:
            raise ConcurrentUpdate() from e

    def set_password(self, user: User, password_hash: str) -> int:
        """A new password ends every session and clears the lock, whatever else changed on the
        account meanwhile (a wrong password counted elsewhere must not undo a reset); the new
        session generation."""
        answer = UserModel._get_connection().update_item(
            user.user_id, condition=UserModel.user_id.exists(), return_values=UPDATED_NEW,
            actions=[UserModel.password_hash.set(password_hash), UserModel.generation.add(1),
                     UserModel.failed_logins.set(0), UserModel.failed_window_start.remove(),
                     UserModel.locked_until.remove(), UserModel.version.add(1)])
        return int(answer["Attributes"][UserModel.generation.attr_name]["N"])

    def end_sessions(self, user_id: str) -> None:
        """Every token issued so far stops working (logout everywhere)."""
        update_returning_nothing(UserModel, user_id, actions=[UserModel.generation.add(1), UserModel.version.add(1)],
                                 condition=UserModel.user_id.exists())

    def set_contact(self, user: User, channel: str, value: str) -> None:
        """A phone or e-mail address the holder has just verified."""
        if channel == "phone":
            actions = [UserModel.phone.set(value), UserModel.phone_verified.set(True)]
        else:
            actions = [UserModel.email.set(value), UserModel.email_verified.set(True)]
        update_returning_nothing(UserModel, user.user_id, actions=[*actions, UserModel.version.add(1)],
                                 condition=UserModel.user_id.exists())

    def accept_notice(self, user_id: str, version: str) -> None:
        update_returning_nothing(UserModel, user_id, actions=[UserModel.notice_version.set(version),
                                                               UserModel.version.add(1)],
                                 condition=UserModel.user_id.exists())

    def delete_user(self, user: User) -> None:
        """Credentials, contacts and sessions go at once (the authorizer finds no account), and
        the ID document is free for another account; ConcurrentUpdate if anything changed."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.delete(_versioned(user))
                tx.delete(UserKeyModel(username_item_key(username_key(user.username))),
                          condition=UserKeyModel.user_id == user.user_id)
                if user.proven:
                    tx.update(IdDocumentModel(document_item_key(user.id_hash)),
                              actions=[IdDocumentModel.user_id.remove()],
                              condition=IdDocumentModel.user_id == user.user_id)
        except TransactWriteError as e:
            raise ConcurrentUpdate() from e

    # --- sessions ------------------------------------------------------------------------------

    def revoke_token(self, jti: str, expires_at: datetime) -> None:
        RevokedTokenModel(jti, expires_at=expires_at).save()

    def session(self, user_id: str, jti: str, now: datetime) -> tuple[SessionState | None, bool]:
        """The account a token names (None if there is none, or it has expired unproven) and
        whether the token was logged out, in one strongly consistent BatchGetItem over both
        tables: the authorizer's only read."""
        users, revoked = UserModel.Meta.table_name, RevokedTokenModel.Meta.table_name
        wanted = (UserModel.user_id, UserModel.id_hash, UserModel.notice_version, UserModel.proof,
                  UserModel.ever_proven, UserModel.generation, UserModel.created_at)
        request: dict[str, Any] = {
            users: {"Keys": [{UserModel.user_id.attr_name: {"S": user_id}}], "ConsistentRead": True,
                    "ProjectionExpression": ", ".join(a.attr_name for a in wanted)},
            revoked: {"Keys": [{RevokedTokenModel.jti.attr_name: {"S": jti}}], "ConsistentRead": True,
                      "ProjectionExpression": RevokedTokenModel.jti.attr_name},
        }
        found = batch_get(self._connection, request)
        state = None
        if found[users]:
            model = UserModel.from_raw_data(found[users][0])
            if model.ever_proven or now < model.created_at + UNPROVEN_ACCOUNT_LIFETIME:
                caller = Caller(user_id=model.user_id, holder_key=model.id_hash if model.proof else None,
                                notice_version=model.notice_version, id_document=model.id_hash)
                state = SessionState(caller=caller, generation=int(model.generation or 0))
        return state, bool(found[revoked])

    # --- ID documents --------------------------------------------------------------------------

    def document(self, holder_key: str) -> IdDocument:
        """The document's holder and its phone on record, in one BatchGetItem of their two items."""
        table = IdDocumentModel.Meta.table_name
        keys = [document_item_key(holder_key), phone_item_key(holder_key)]
        items = batch_get(self._connection, {table: {"Keys": [{"key": {"S": k}} for k in keys],
                                                     "ConsistentRead": True}})[table]
        found = {item["key"]["S"]: item for item in items}
        held, phone = found.get(keys[0], {}), found.get(keys[1], {})
        return IdDocument(holder_key=holder_key, user_id=held.get("user_id", {}).get("S"),
                          phone=phone.get("phone", {}).get("S"))

    def holder(self, holder_key: str) -> User | None:
        """The proven account that holds this ID document, if any."""
        user_id = self.document(holder_key).user_id
        return self.user(user_id) if user_id else None

    def record_phone(self, holder_key: str, phone: str, stamp: RowStamp) -> bool:
        """Set the phone on record from a batch row stamped `stamp`; False (nothing written) when
        the phone is the same, or was set by a row of a later (or the same) stamp, unless this
        very row set it (a load run again)."""
        newer = PhoneRecordModel.phone_stamp.does_not_exist() | (PhoneRecordModel.phone_stamp < stamp.order)
        other = PhoneRecordModel.phone.does_not_exist() | (PhoneRecordModel.phone != phone)
        again = PhoneRecordModel.phone_loaded_by == stamp.loaded_by
        try:
            update_returning_nothing(PhoneRecordModel, phone_item_key(holder_key),
                                     actions=[PhoneRecordModel.phone.set(phone),
                                              PhoneRecordModel.phone_stamp.set(stamp.order),
                                              PhoneRecordModel.phone_loaded_by.set(stamp.loaded_by)],
                                     condition=(newer & other) | again)
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def take_document(self, user: User, method: ProofMethod, *, held_by: str | None, owner: User | None,
                      verified_phone: str | None) -> None:
        """`user` now holds its ID document, proven by `method`: the document was `held_by` that
        account (or none) and is taken from `owner` (another account, which becomes unproven, its
        sessions ended), all or nothing. ConcurrentUpdate if the document changed hands, or either
        account changed, since they were read."""
        document = IdDocumentModel(document_item_key(user.id_hash))
        held = (IdDocumentModel.user_id == held_by) if held_by else IdDocumentModel.user_id.does_not_exist()
        mine: list[Any] = [UserModel.proof.set(method.value), UserModel.ever_proven.set(True),
                           UserModel.expires_at.remove()]
        if verified_phone:
            mine += [UserModel.phone.set(verified_phone), UserModel.phone_verified.set(True)]
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.update(document, actions=[IdDocumentModel.user_id.set(user.user_id)], condition=held)
                tx.update(_versioned(user), actions=mine)
                tx.update(UserKeyModel(username_item_key(username_key(user.username))),
                          actions=[UserKeyModel.expires_at.remove()], condition=UserKeyModel.user_id == user.user_id)
                if owner is not None:  # whatever else it changes meanwhile: `held_by` decides the race
                    tx.update(_versioned(owner), actions=[UserModel.proof.remove(), UserModel.generation.add(1)],
                              condition=UserModel.user_id.exists(), add_version_condition=False)
        except TransactWriteError as e:
            raise ConcurrentUpdate() from e

    # --- batch files ---------------------------------------------------------------------------

    def file_first_loaded(self, file_id: str, now: datetime) -> datetime:
        """When this content of a batch file was first loaded (now, the first time)."""
        model = ImportFileModel(f"import#{file_id}")
        model.update(actions=[ImportFileModel.first_loaded_at.set(ImportFileModel.first_loaded_at | now)])
        return model.first_loaded_at or now


def _guard_actions(guard: Attempts) -> list[Any]:
    """The account's count of wrong passwords from every client, as UpdateItem actions."""
    return [UserModel.failed_logins.set(guard.failures),
            UserModel.failed_window_start.set(guard.window_start)
            if guard.window_start else UserModel.failed_window_start.remove(),
            UserModel.locked_until.set(guard.locked_until) if guard.locked_until else UserModel.locked_until.remove()]


def _versioned(user: User) -> UserModel:
    """A user item to write, conditional on the version that was read."""
    model = UserModel(user.user_id)
    if user.version is not None:
        model.version = user.version
    return model


def user_model(user: User) -> UserModel:
    model = UserModel(
        user.user_id, username=user.username, name=user.name, id_type=user.id_type,
        id_hash=user.id_hash, id_number_masked=user.id_number_masked, phone=user.phone,
        phone_verified=user.phone_verified, email=user.email, email_verified=user.email_verified,
        password_hash=user.password_hash, notice_version=user.notice_version,
        failed_logins=user.guard.failures, failed_window_start=user.guard.window_start,
        locked_until=user.guard.locked_until, proof=user.proof.value if user.proof else None,
        ever_proven=user.ever_proven, generation=user.generation, created_at=user.created_at)
    if user.version is not None:
        model.version = user.version
    return model


def user_from(model: UserModel) -> User:
    return User(
        user_id=model.user_id, username=model.username, name=model.name, id_type=model.id_type,
        id_hash=model.id_hash, id_number_masked=model.id_number_masked, phone=model.phone,
        phone_verified=bool(model.phone_verified), email=model.email, email_verified=bool(model.email_verified),
        password_hash=model.password_hash, notice_version=model.notice_version,
        guard=Attempts(failures=int(model.failed_logins or 0),
                       window_start=model.failed_window_start, locked_until=model.locked_until),
        created_at=model.created_at, proof=ProofMethod(model.proof) if model.proof else None,
        ever_proven=bool(model.ever_proven), generation=int(model.generation or 0), version=model.version)

