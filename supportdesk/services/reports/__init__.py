"""Reports for leads: SLA attainment and first-contact resolution over a window (report), and
the lead's live board of clocks, people and attention (sla_board)."""
