"""Whom the client trusts for TLS: what the user's machine trusts.

The system trust store (through truststore: the OS's own verifier on macOS and Windows, the
system CA bundle on Linux), plus `SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE` and a `--ca-bundle` for
a private CA. Turning verification off takes an explicit `--insecure`, which the binding
remembers and every status shows.
"""

from __future__ import annotations

import contextlib
import os
import ssl

from mysafe_tui.core.errors import InvalidInput


def verification(ca_bundle: str | None = None, insecure: bool = False) -> ssl.SSLContext | bool:
    """What httpx's `verify` gets: a context trusting the machine's CAs and the extra
    bundles, or False when the user said --insecure."""
    if insecure:
        return False
    import truststore

    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for bundle in (
        os.environ.get("SSL_CERT_FILE"),
        os.environ.get("REQUESTS_CA_BUNDLE"),
        ca_bundle,
    ):
        if bundle:
            # One that cannot be read adds no trust: the server's certificate is then
            # refused (fails closed) with its own message. Login checks the bundle it is
            # given (`check_bundle`); a vault must still unlock if that file goes away later.
            with contextlib.suppress(OSError, ssl.SSLError):
                context.load_verify_locations(cafile=os.path.expanduser(bundle))
    return context


def check_bundle(bundle: str) -> None:
    """At login: a CA bundle that cannot be used says so at once."""
    try:
        ssl.create_default_context().load_verify_locations(cafile=os.path.expanduser(bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or "not PEM certificates"
        raise InvalidInput(f"cannot use the CA bundle {bundle}: {reason}") from None
