"""The push tests' fixtures, once for the directory: a store with tokens, an app over it (one
per test module, as each fixture's scope says), a live server, an empty store before each test."""

from tests.server.push_support import (  # noqa: F401 - fixtures pytest finds here
    database_url,
    empty_store,
    live,
    push_app,
    schema,
    tokens,
    upload_dir,
)
