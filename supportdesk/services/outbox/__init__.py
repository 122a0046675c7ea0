"""What the desk sends to customers (issue 18), one module per job:

- queueing.py: `queue_message` writes one outbox row inside the caller's write transaction
  (a reply, an acknowledgement, a confirmation request, an incident update, a maintenance
  notice); the Message-ID is made here, so a retry after a crash carries the same one.
- sending.py / transports.py / config.py: `supportdesk mail send` takes due rows by lease,
  delivers them over SMTP (or into a maildir) outside any transaction, and records the
  server's answer; faults of the transport defer everything and raise an alarm.
"""
