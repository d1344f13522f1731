"""Delivery status notifications as real relays write them, built with the `email` package:
Postfix's "Undelivered Mail Returned to Sender" (text/rfc822-headers) and Exchange Online's
"Undeliverable: ..." (its own wording, the whole original as message/rfc822), plus a delay
warning and an ordinary email."""

from __future__ import annotations

import email
from datetime import datetime
from email import policy
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid


def _fields(**values: str) -> Message:
    block = Message()
    for name, value in values.items():
        block[name.replace("_", "-")] = value
    return block


def _delivery_status(per_message: Message, *recipients: Message) -> Message:
    part = Message()
    part["Content-Description"] = "Delivery report"
    part["Content-Type"] = "message/delivery-status"
    part.set_payload([per_message, *recipients])
    return part


def _report(subject: str, sender: str, to: str, when: datetime, msgid_domain: str) -> Message:
    report = MIMEMultipart("report")
    report.set_param("report-type", "delivery-status")
    report["Date"] = format_datetime(when)
    report["From"] = sender
    report["Subject"] = subject
    report["To"] = to
    report["Auto-Submitted"] = "auto-replied"
    report["Message-ID"] = make_msgid(domain=msgid_domain)
    return report


def _original_headers(original: bytes) -> str:
    head = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return head.decode("utf-8", "replace").replace("\r\n", "\n") + "\n"


def postfix_dsn(
    original: bytes,
    *,
    to: str,
    recipient: str,
    when: datetime,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str | None = None,
) -> bytes:
    """Postfix's bounce: notification text, message/delivery-status, the original headers."""
    diagnostic = diagnostic or (
        f"smtp; 550 {status} <{recipient}>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    delayed = action == "delayed"
    report = _report(
        "Delayed Mail (still being retried)" if delayed else "Undelivered Mail Returned to Sender",
        "MAILER-DAEMON@mx1.cedar.example (Mail Delivery System)",
        to,
        when,
        "mx1.cedar.example",
    )
    report["Return-Path"] = "<>"
    report["X-Original-To"] = to
    report["Delivered-To"] = to
    text = (
        "This is the mail system at host mx1.cedar.example.\n\n"
        + (
            "####################################################################\n"
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
            "####################################################################\n\n"
            if delayed
            else "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients. It's attached below.\n\n"
        )
        + "For further assistance, please send mail to postmaster.\n\n"
        "If you do so, please include this problem report. You can\n"
        "delete your own text from the attached returned message.\n\n"
        "                   The mail system\n\n"
        f"<{recipient}>: host mx.example.net[192.0.2.25] said: {diagnostic.split('; ', 1)[1]}\n"
        "    (in reply to RCPT TO command)\n"
    )
    notification = MIMEText(text, "plain", "us-ascii")
    notification["Content-Description"] = "Notification"
    report.attach(notification)
    report.attach(
        _delivery_status(
            _fields(
                Reporting_MTA="dns; mx1.cedar.example",
                X_Postfix_Queue_ID="4Qh2Xk0TzVz9sVf",
                X_Postfix_Sender=f"rfc822; {to}",
                Arrival_Date=format_datetime(when),
            ),
            _fields(
                Final_Recipient=f"rfc822; {recipient}",
                Original_Recipient=f"rfc822;{recipient}",
                Action=action,
                Status=status,
                Remote_MTA="dns; mx.example.net",
                Diagnostic_Code=diagnostic,
            ),
        )
    )
    headers = MIMEText(_original_headers(original), "rfc822-headers", "us-ascii")
    headers["Content-Description"] = "Undelivered Message Headers"
    report.attach(headers)
    return report.as_bytes()


def exchange_ndr(
    original: bytes,
    *,
    to: str,
    recipient: str,
    when: datetime,
    status: str = "5.1.10",
    whole_message: bool = True,
) -> bytes:
    """Exchange Online's non-delivery report: "Undeliverable:" subject, its own wording in
    an HTML/plain alternative, the delivery status and the original message."""
    original_message = email.message_from_bytes(original, policy=policy.compat32)
    subject = str(original_message.get("Subject", ""))
    report = _report(
        f"Undeliverable: {subject}",
        "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@cedar.example>",
        f"<{to}>",
        when,
        "BN8PR04MB6211.namprd04.prod.outlook.com",
    )
    original_id = str(original_message.get("Message-ID", ""))
    report["In-Reply-To"] = original_id
    report["References"] = original_id
    report["Thread-Topic"] = subject
    report["Content-Language"] = "en-US"
    report["X-MS-Exchange-Message-Is-Ndr"] = ""
    report["X-MS-PublicTrafficType"] = "Email"
    domain = recipient.rpartition("@")[2]
    words = (
        f"Your message to {recipient} couldn't be delivered.\n\n"
        f"{recipient.partition('@')[0]} wasn't found at {domain}.\n\n"
        "Action Required: Recipient\n\nUnknown To address\n\n"
        "How to Fix It\nThe address may be misspelled or may not exist. Try one or more of "
        "the following:\n- Send the message again following these steps: ...\n"
    )
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(words, "plain", "utf-8"))
    body.attach(
        MIMEText(
            f"<html><body><p><b>Your message to {recipient} couldn't be delivered.</b></p>"
            f"<p>{recipient.partition('@')[0]} wasn't found at {domain}.</p></body></html>",
            "html",
            "utf-8",
        )
    )
    report.attach(body)
    report.attach(
        _delivery_status(
            _fields(
                Reporting_MTA="dns;BN8PR04MB6211.namprd04.prod.outlook.com",
                Received_From_MTA="dns;portal.cedar.example",
                Arrival_Date=format_datetime(when),
            ),
            _fields(
                Final_Recipient=f"rfc822;{recipient}",
                Action="failed",
                Status=status,
                Diagnostic_Code=(
                    f"smtp;550 {status} RESOLVER.ADR.RecipientNotFound; "
                    "Recipient not found by SMTP address lookup"
                ),
            ),
        )
    )
    if whole_message:
        from email.mime.message import MIMEMessage

        report.attach(MIMEMessage(original_message))
    else:
        report.attach(MIMEText(_original_headers(original), "rfc822-headers", "us-ascii"))
    return report.as_bytes()


def ordinary_email(*, to: str, when: datetime) -> bytes:
    """Something else in the same mailbox: a person's reply."""
    message = MIMEText("Thanks, I'll register tonight.\n", "plain", "utf-8")
    message["From"] = "Ana <ana.obrien@example.com>"
    message["To"] = to
    message["Subject"] = "Re: Your Client Portal invitation"
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain="example.com")
    return message.as_bytes()
