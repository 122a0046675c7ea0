"""Intake: what comes in from outside. Mail delivered by the MTA (parse, quarantine, file as
ticket or reply) and other helpdesks' exports (formats, importer)."""
