"""Adapters to the outside systems other than the database and the fan-out: the SQS
consumer, notification sinks (SNS, webhook), object stores (file, S3)."""
