"""What comes back by email, and what it may change: a colleague's reply (accepted only through a live link
on an open action), an out-of-office reply (a reschedule, proposed or made), a hard bounce on a client's
contact (the contact is flagged). Pure: no I/O."""

import re
from collections.abc import Sequence
from datetime import date, datetime

from shared.contracts.email import EmailFailed, EmailPurpose, FailureKind
from services.followups.domain.actions import Action
from services.followups.domain.links import LinkRecord
from services.followups.domain.parties import Client

# A bad address (RFC 3463 X.1.x: no such mailbox, bad domain…), as a DSN or an SMTP reply puts it.
_BAD_ADDRESS = re.compile(r"\b5\.1\.\d{1,3}\b")


def reply_refusal(*, action: Action, link: LinkRecord | None, sender_links: Sequence[LinkRecord],
                  sender: str = "") -> str | None:
    """Why a reply may not touch the action (None: it may). `link` is the one its reply address names (the
    mailer checked the sender; checked again here); a reply without one (older mailer) needs a live link of
    this action issued to its sender."""
    if not action.is_open:
        return f"the action is {action.state}"
    if link is not None:
        if link.action_id != action.action_id:
            return "the reply address was issued for another action"
        if sender and not link.forwarding_allowed and sender.strip().lower() != link.recipient:
            return "the reply comes from another address than the link's recipient"
        return "the link was revoked" if link.revoked else None
    if not sender_links:
        return "no link of this action was issued to the sender"
    if all(record.revoked for record in sender_links):
        return "the link was revoked"
    return None


def out_of_office_date(action: Action, return_date: date | None, *, today: date) -> date | None:
    """The date to move the action to: the colleague's return, when it is after the action's next step."""
    if return_date is None or not action.is_open or return_date < today or return_date <= action.scheduled_for:
        return None
    return return_date


def return_date_note(return_date: date | None, *, received: date) -> str | None:
    """What the history says of an out-of-office's return date that cannot move anything: one already past
    when the reply came (a stale auto-reply), so nobody waits for a date that will not come."""
    if return_date is not None and return_date < received:
        return "return date already past"
    return None


def is_hard_bounce(event: EmailFailed) -> bool:
    """A permanent failure that says the address itself is bad (not a full mailbox or a refused content)."""
    if event.kind != FailureKind.PERMANENT or event.purpose == EmailPurpose.INTERNAL_INTERACTIVE:
        return False
    reason = event.reason.lower()
    if "suppression list" in reason:
        return False  # already known bad: nothing new to flag
    return reason.startswith("bounced") or bool(_BAD_ADDRESS.search(event.reason)) or event.smtp_code in (550, 551,
                                                                                                          553)


def flag_bounced(client: Client, addresses: Sequence[str], *, now: datetime) -> tuple[Client | None, list[str]]:
    """The client with the contacts at these addresses flagged `bounced` (None when none changed), and the
    addresses of the contacts still usable."""
    bad = {address.lower() for address in addresses}
    changed = False
    contacts = []
    for contact in client.contacts:
        if contact.email and contact.email.lower() in bad and not contact.bounced:
            contact = contact.model_copy(update={"bounced": True})
            changed = True
        contacts.append(contact)
    usable = [c.email for c in contacts if c.email and not c.bounced]
    if not changed:
        return None, usable
    return client.model_copy(update={"contacts": contacts, "version": client.version + 1, "changed_at": now}), usable
