"""Every test runs against fake AWS credentials, never a real account, and with four shards
of each sparse index."""

import os

os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
# A few shards of each sparse index (domain.shards), so every reader is tested across several.
os.environ["INDEX_SHARDS"] = "4"
for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(name, None)
