"""Recipient-verified links (`mysafe share --to ADDRESS`, sharing.md): the server mails the
recipient a notice when the link is made, and an 8-digit code when the page asks for one; a
reveal needs the code as well as the link.

What the server never does is mail the link: its key (the part after #) would pass through
the server and its relay, and the server would hold both halves of the content. The owner
hands the link on; the code proves the reader also reads the recipient's mail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mysafe_tui.core.sanitize import printable
from mysafe_tui.server.errors import ApiError, invalid
from mysafe_tui.server.http import authenticated, envelope, store_of
from mysafe_tui.server.mailer import MailFailed, Relay, masked, valid_address
from mysafe_tui.server.share_store import CODE_TTL, share_id_hash

NOUNS = {"password": "password", "note": "secure note", "secretapi": "API secret", "file": "file"}


def relay_of(request: Request) -> Relay | None:
    relay: Relay | None = request.app.state.relay
    return relay


def recipient_of(request: Request, body: dict[str, Any]) -> str:
    """The address a new link is for ("" for none); refused when this server cannot mail."""
    given = str(body.get("recipient") or "").strip()
    if not given:
        return ""
    if relay_of(request) is None:
        raise invalid(
            "this server sends no mail, so a link cannot go to a recipient (start mysafe "
            "serve with --smtp URL)"
        )
    try:
        return valid_address(given)
    except ValueError as exc:
        raise invalid(str(exc)) from None


async def notify(request: Request, owner_id: int, share: dict[str, Any]) -> str:
    """Mail the recipient of a new (or resent) link that it is coming; its mail status."""
    store = store_of(request)
    owner = printable(await run_in_threadpool(store.user_name, owner_id))[:80] or "Someone"
    # Where links point, as the admin set it: the Host of a request is its sender's to choose.
    site = request.app.state.config.public_url or str(request.base_url).rstrip("/")
    expires = datetime.fromtimestamp(share["expires_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
    noun = NOUNS.get(share["kind"], "secret")
    body = (
        f"{owner} shared a {noun} with you through MySafe at {site}.\n\n"
        f"{owner} sends you the link to it themselves: the MySafe server never holds the key "
        f"that opens it, so it cannot mail it to you. The link starts with\n\n"
        f"    {site}/s/{share['share_id_prefix']}\n\n"
        f"When you open it, the page sends a code to this address; type it there to see the "
        f"{noun}. The link works until {expires}.\n\n"
        "If you were not expecting this, ignore this mail: nothing opens without the link.\n"
    )
    return await _send(request, share, f"{owner} shared a {noun} with you", body, "notified")


async def _send(request: Request, share: dict[str, Any], subject: str, body: str, done: str) -> str:
    relay = relay_of(request)
    assert relay is not None
    try:
        await run_in_threadpool(relay.send, share["recipient"], subject, body)
        status = done
    except MailFailed as exc:
        status = f"failed: {exc}"
    await run_in_threadpool(store_of(request).set_mail_status, share["id_hash"], status)
    return status


def routes(prefix: str) -> list[BaseRoute]:
    async def resend(request: Request, user_id: int) -> Response:
        """The owner mails the notice again; the recipient may ask for codes anew."""
        if relay_of(request) is None:
            raise invalid("this server sends no mail (start mysafe serve with --smtp URL)")
        share_id = str(request.path_params["share_id"])
        share = await run_in_threadpool(store_of(request).recipient_share, user_id, share_id)
        status = await notify(request, user_id, share)
        if status.startswith("failed"):
            raise ApiError(
                502,
                f"The mail to {share['recipient']} was not sent: {status.removeprefix('failed: ')}",
                502,
            )
        return envelope(200, f"Mailed {share['recipient']} again", mail_status=status)

    return [
        Route(
            f"{prefix}/mysafe-ext/share/resend/{{share_id}}",
            authenticated(resend),
            methods=["POST"],
        ),
    ]


async def mail_code(request: Request, share_id: str, holder: bytes, source: str) -> Response:
    """The public side: a new code to the recipient, for someone who holds the link's key."""
    store = store_of(request)
    address, code = await run_in_threadpool(store.new_code, share_id, holder, source)
    minutes = int(CODE_TTL // 60)
    body = (
        f"Your code for the MySafe link shared with you:\n\n    {code[:4]} {code[4:]}\n\n"
        f"It works for {minutes} minutes, for one view. If you did not ask for it, someone "
        "else has the link: tell the person who sent it to you.\n"
    )
    share = {"recipient": address, "id_hash": share_id_hash(share_id)}
    status = await _send(request, share, "Your MySafe code", body, "code sent")
    if status.startswith("failed"):
        return envelope(
            502,
            "The code could not be mailed; try again in a minute.",
            share={"status": "active", "refused": "mail"},
        )
    return envelope(
        200,
        f"A code was sent to {masked(address)}.",
        share={"status": "active", "recipient_hint": masked(address), "code_minutes": minutes},
    )
