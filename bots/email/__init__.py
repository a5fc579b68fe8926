"""The e-mail channel: `listener` reads a mailbox over IMAP (IDLE), `intake` and `inbound`
turn each mail into an `Incoming` with its threading hint (`addresses`: order-tagged reply
addresses), `parse` and `content` read the mail, `outbound` and `render` send over SMTP.
`runtime/email.py` wires it into the processes. See docs/email.md.

Nothing is imported here: `runtime/settings.py` reads `bots.email.config` without
loading the IMAP and SMTP clients."""
