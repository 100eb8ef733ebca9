"""Structured JSON logs and CloudWatch metrics (Powertools Logger and Metrics, EMF).

Everything is built on first use, not at import. Log lines carry the request's or the
annotation's ID as correlation ID; no line ever carries an ID number or a phone number
(those are masked before they could reach a log).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "certificates"
NAMESPACE = "CertificateService"


@lru_cache(maxsize=1)
def logger() -> Logger:
    log = Logger(service=SERVICE)
    # Our modules log through the standard library; give them the same JSON format.
    copy_config_to_registered_loggers(source_logger=log, include={"chalicelib"})
    return log


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    return Metrics(namespace=NAMESPACE, service=SERVICE)


def correlate(correlation_id: str) -> None:
    logger().set_correlation_id(correlation_id)


def count(name: str, value: float = 1) -> None:
    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_by(name: str, value: float = 1, **dimensions: str) -> None:
    """A count with dimensions of its own, published at once (Powertools' single metric): the
    invocation's metrics share one set of dimensions, so `count(name)` beside it keeps the total
    that an alarm watches."""
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE,
                       default_dimensions={"service": SERVICE, **dimensions}):
        pass


def milliseconds(name: str, value: float) -> None:
    metrics().add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)


def flush() -> None:
    """Publish this invocation's metrics, if it recorded any."""
    if metrics().metric_set:
        metrics().flush_metrics(raise_on_empty_metrics=False)


F = TypeVar("F", bound=Callable[..., Any])


def observed(handler: F) -> F:
    """For event handlers: JSON logging set up, and the invocation's metrics flushed."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        logger()
        try:
            return handler(*args, **kwargs)
        finally:
            flush()

    return cast(F, wrapper)
