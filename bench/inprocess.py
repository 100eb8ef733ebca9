"""The app in process (chalice.test.Client) on the embedded AWS, as the request-count and the
cost benchmarks drive it: moto for every service, or for DynamoDB AWS's own DynamoDB Local
(`infra/dynamodb_local.py`); the local stack's trust services sign every copy with a timestamp;
the demo data loaded."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def app_on_embedded_aws(*, dynamodb_local: bool = False) -> Iterator[Any]:
    """The Chalice app, deployed and loaded with the demo data; the first download of an
    electronic file does not wait for a worker (none runs in the test client)."""
    import boto3
    from moto import mock_aws

    from chalicelib import deps
    from infra.deploy import deploy
    from infra.tsa import start_trust_services

    trust = start_trust_services()
    assert trust.pki is not None
    with contextlib.ExitStack() as stopping:
        stopping.callback(trust.stop)
        endpoint = None
        if dynamodb_local:
            from infra.dynamodb_local import fetch, start

            fetch()
            local = start()
            stopping.callback(local.stop)
            endpoint = local.endpoint
        stopping.enter_context(mock_aws())
        env = deploy(boto3.Session(), signing_material=trust.pki.material.to_json(), dynamodb_endpoint=endpoint,
                     ttl=not dynamodb_local)
        os.environ.update(env)
        stopping.callback(lambda: os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None))
        os.environ["TSA_URL"] = trust.tsa_url
        os.environ["FILE_WAIT_SECONDS"] = "0"
        deps.reset()
        from app import app
        from infra.demo import load_demo

        load_demo(app)
        yield app


def render(client: Any, body: str) -> None:
    """Deliver one render message to the render worker, as its SQS event source would."""
    result = client.lambda_.invoke("render_worker", client.events.generate_sqs_event(
        message_bodies=[body], queue_name="render"))
    assert not result.payload["batchItemFailures"], result.payload


def standalone(rows: Callable[[], list[tuple[str, str]]]) -> int:
    """Run one benchmark module by itself: fake credentials, no metrics, its rows as a table."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    for name, value in rows():
        print(f"| {name} | {value} |")
    return 0
