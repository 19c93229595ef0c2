"""opentelemetry-instrumentation-botocore: one DynamoDB call per invocation; its spans, kept in
memory by the SDK's own in-memory exporter, are returned with the result."""

import time

from opentelemetry import trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
BotocoreInstrumentor().instrument()

import boto3  # noqa: E402


def handler(event, context):
    exporter.clear()
    client = boto3.client("dynamodb", endpoint_url=event["endpoint"])
    started = time.monotonic()
    response = client.list_tables()
    seconds = time.monotonic() - started
    config = client.meta.config
    spans = [
        {
            "name": span.name,
            "kind": span.kind.name,
            "status": span.status.status_code.name,
            "attributes": dict(span.attributes),
            "events": [e.name for e in span.events],
        }
        for span in exporter.get_finished_spans()
    ]
    return {
        "client": {
            "connect_timeout": config.connect_timeout,
            "read_timeout": config.read_timeout,
            "retries": config.retries,
        },
        "seconds": seconds,
        "retry_attempts": response["ResponseMetadata"]["RetryAttempts"],
        "spans": spans,
    }
