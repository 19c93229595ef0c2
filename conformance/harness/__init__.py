"""The conformance harness: botocore's own tests, plain and with Timeout Guard, compared."""
