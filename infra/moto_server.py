"""The local stack's embedded AWS: moto's server, with DynamoDB requests taken one at a time,
transactions rolled back item by item, queries that read their partition, keep-alive, and faults on request.

    python -m infra.moto_server HOST PORT

moto applies a transaction's or a conditional write's condition and its writes without a
lock, so two threads could both pass a condition that DynamoDB would let only one pass
(30 concurrent applications could then take 4 quota slots). DynamoDB serializes them;
here one lock does. Other services (SQS long polls among them) stay concurrent.

moto backs up every table a transaction touches, whole (a deep copy), before every
transaction, and sorts every item of a table for every Query, so both cost time in proportion
to the tables' size and the local stack slowed down as data accumulated.
`install_item_rollback` backs up only the items the transaction names and puts them back if
it is cancelled; `install_partition_queries` lets a Query look at its partition only (on an
index, at every item, but without sorting them all first).
"""

from __future__ import annotations

import copy
import inspect
import io
import json
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple


def install_serialized_dynamodb() -> None:
    """Make moto answer DynamoDB requests one at a time, in this process (the local stack's
    server and the in-process moto of the integration tests alike). Installing twice does nothing."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "serialized", False):
        return
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    call_action.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


# The moto whose DynamoDB internals the install_* functions rely on, and the werkzeug whose
# request handler RequestHandler changes (requirements-dev.txt).
PINNED_MOTO = "5.2.5"
PINNED_WERKZEUG = "3.1.9"
_WHOLE_TABLE_BACKUP = "original_table_state[table_name] = copy.deepcopy("


class UnexpectedMoto(RuntimeError):
    """The installed moto is not the one whose DynamoDB internals this module was checked against."""


def install_item_rollback() -> None:
    """Make moto's TransactWriteItems back up the items it touches instead of whole tables.

    moto 5.2.5's `DynamoDBBackend.transact_write_items` deep-copies each named table, applies
    the operations one by one, and on any failure puts the copies back in place of the tables.
    Here the deep copy of a Table, in that module only, returns the table itself (so moto's own
    restore changes nothing), and a wrapper snapshots each item an operation names (a deep
    copy, or its absence) and restores those on any exception. Everything else, the
    cancellation reasons included, stays moto's. Requests must be serialized, as they are here.
    Installing twice does nothing.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    _check_moto()
    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "item_rollback", False):
        return
    if models.copy is not copy or _WHOLE_TABLE_BACKUP not in inspect.getsource(backend.transact_write_items):
        raise UnexpectedMoto(_unexpected("DynamoDBBackend.transact_write_items"))

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[assignment]
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [_snapshot(self, operation) for item in transact_items for operation in item.values()]
        try:
            original(self, transact_items)
        except BaseException:
            # In reverse, so that an item named twice (refused by moto) ends as it was first.
            for restore in reversed(saved):
                restore()
            raise

    transact_write_items.item_rollback = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_QUERYING = threading.local()


def install_partition_queries() -> None:
    """Make moto's Table.query read only the queried partition of the table (on an index: every
    item, unsorted), instead of every item sorted by key.

    moto 5.2.5's `Table.query` starts from `self.all_items()`, which sorts the whole table; for
    the table's own key it then keeps the items with the queried hash key and sorts them by
    range key, and for an index it sorts the matches by the index's keys. Neither needs the
    first sort, and the table's own key needs only its partition. Installing twice does nothing.
    """
    from moto.dynamodb.models.table import Table

    _check_moto()
    if getattr(Table.query, "partition_queries", False):
        return
    original_query, original_all_items = Table.query, Table.all_items
    signature = inspect.signature(original_query)
    if "index_name" not in signature.parameters or \
            "possible_results.sort(key=lambda item: item.range_key)" not in inspect.getsource(original_query):
        raise UnexpectedMoto(_unexpected("Table.query"))

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        _QUERYING.table = self
        _QUERYING.partition = None if arguments.get("index_name") else arguments["hash_key"]
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _QUERYING.table = None

    def all_items(self: Any) -> list[Any]:
        if getattr(_QUERYING, "table", None) is not self:
            return original_all_items(self)  # a Scan (pages in key order) or any other caller
        partition = _QUERYING.partition
        if partition is None:
            return [item for by_range in self.items.values() for item in by_range.values()] \
                if self.range_key_attr else list(self.items.values())
        # `.get`: indexing the defaultdict would add an empty partition.
        found = self.items.get(partition)
        if found is None:
            return []
        return list(found.values()) if self.range_key_attr else [found]

    query.partition_queries = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _check_moto() -> None:
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise UnexpectedMoto(_unexpected(f"moto {moto.__version__}"))


def _unexpected(what: str) -> str:
    return (f"infra/moto_server.py changes the DynamoDB internals of moto {PINNED_MOTO} (transactions' "
            f"backups, Query's reading of the table), and found {what} not as it expects: read the new "
            "DynamoDBBackend.transact_write_items and Table.query and all_items, adapt, then update PINNED_MOTO")


def _snapshot(backend: Any, operation: Any) -> Callable[[], None]:
    """A function that puts the item `operation` names back as it is now (absent included)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    def nothing() -> None:
        pass

    try:
        table = backend.get_table(operation["TableName"])
        key = operation["Item"] if "Item" in operation else operation["Key"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:
        return nothing  # moto refuses such an operation before it writes anything
    # Read `items` directly: the table's get_item would add an empty entry to the defaultdict.
    had_hash = hash_key in table.items
    if range_key is None:
        before = copy.deepcopy(table.items.get(hash_key))
    else:
        before = copy.deepcopy(table.items[hash_key].get(range_key)) if had_hash else None
    stream = table.stream_shard
    stream_length = len(stream.items) if stream is not None else 0

    def restore() -> None:
        if range_key is None:
            if before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before
        else:
            by_range = table.items[hash_key]
            if before is None:
                by_range.pop(range_key, None)
            else:
                by_range[range_key] = before
            if not had_hash and not by_range:
                del table.items[hash_key]
        if stream is not None:
            del stream.items[stream_length:]

    return restore


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which service a host name is: moto lists its own package
    directory and tries every service's URL patterns for each request (twice for a host such as
    127.0.0.1:5000), under one lock."""

    def __init__(self, create_app: Callable[..., Any]) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


class Faults:
    """Faults the end-to-end tests ask the embedded AWS for (only with EMBEDDED_AWS_FAULTS=1), as
    AWS sometimes answers: `POST
    /_faults {"target": "DynamoDB_20120810.UpdateItem", "contains": "<table name>", "count": 1}`
    makes the next `count` DynamoDB requests of that operation whose body contains the string
    fail with an error no client retries (400 ValidationException), as a request refused or a
    function stopped halfway would leave things. Nothing here answers differently otherwise."""

    ERROR = b'{"__type": "com.amazon.coral.validate#ValidationException", "message": "injected fault"}'

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.pending: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/_faults" and environ.get("REQUEST_METHOD") == "POST":
            with self.lock:
                self.pending.append(json.loads(environ["wsgi.input"].read() or b"{}"))
            start_response("204 No Content", [])
            return [b""]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target and self.pending:
            body = environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(body)
            if self._take(target, body.decode("utf-8", errors="replace")):
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"),
                                                   ("Content-Length", str(len(self.ERROR)))])
                return [self.ERROR]
        return self.app(environ, start_response)

    def _take(self, target: str, body: str) -> bool:
        with self.lock:
            for fault in self.pending:
                if fault.get("target") == target and str(fault.get("contains", "")) in body:
                    fault["count"] = int(fault.get("count", 1)) - 1
                    if fault["count"] <= 0:
                        self.pending.remove(fault)
                    return True
        return False


class _NothingLeft:
    """What werkzeug's after-response drain reads from once the body has been read (below)."""

    def read(self, size: int = -1) -> bytes:
        return b""


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, with keep-alive connections and no line logged per request.

    werkzeug closes every connection after its response, since it cannot tell the unread rest
    of a request body from the next request: after each response it reads and discards
    whatever arrives within 10 ms. Every AWS call then paid a TCP handshake and a new thread
    on each side. Here a body with a Content-Length is read in full before the application
    runs, and werkzeug's drain reads nothing, so the connection stays open; a chunked body is
    left to werkzeug, which closes the connection after it.
    """

    # werkzeug writes the headers and the body in two sends; with Nagle's algorithm on, a
    # keep-alive client's delayed ACK would hold the body back by ~40 ms.
    disable_nagle_algorithm = True
    _body: bytes | None = None

    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            super().run_wsgi()
            return
        connection_file = self.rfile
        self._body = connection_file.read(int(self.headers.get("Content-Length") or 0))
        self.rfile = _NothingLeft()  # type: ignore[assignment]
        try:
            super().run_wsgi()
        finally:
            self.rfile, self._body = connection_file, None

    def make_environ(self) -> Any:
        environ = super().make_environ()
        if self._body is not None:
            environ["wsgi.input"] = io.BytesIO(self._body)
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if self._body is not None and keyword.lower() == "connection" and value.lower() == "close":
            return  # werkzeug's "always close"; the client's own Connection: close still holds
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No line per request: formatting and writing it cost more than many a request."""


def _check_werkzeug() -> None:
    from importlib.metadata import version

    if version("werkzeug") != PINNED_WERKZEUG:
        raise UnexpectedMoto(f"infra/moto_server.py keeps connections alive through the internals of werkzeug "
                             f"{PINNED_WERKZEUG} (its drain of unread request bodies, its Connection: close), "
                             f"and found werkzeug {version('werkzeug')}: read WSGIRequestHandler.run_wsgi and "
                             "handle_one_request, adapt RequestHandler, then update PINNED_WERKZEUG")


def main(host: str, port: str) -> None:
    _check_werkzeug()
    install_item_rollback()
    install_partition_queries()
    install_serialized_dynamodb()
    # Faults only for the end-to-end tests' stacks (infra/harness.py sets it), never for `make run`.
    app: Any = Dispatcher(create_backend_app)
    if os.environ.get("EMBEDDED_AWS_FAULTS") == "1":
        app = Faults(app)
    run_simple(host, int(port), app, threaded=True, use_reloader=False, request_handler=RequestHandler)


if __name__ == "__main__":
    main(*sys.argv[1:3])
