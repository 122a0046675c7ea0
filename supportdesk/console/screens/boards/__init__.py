"""The boards: one tier's escalated work (`tier`, ctrl+t) and the lead's SLA board (`lead`,
ctrl+l; alone and read-only on the wall display)."""
