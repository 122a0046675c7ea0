"""Pure rules: no database, no ORM. Business calendars, the SLA clock engine, the policy
format and its validation, who may ask for what (verification), and field limits."""
