"""Running the desk itself: create or upgrade a database with its audit key and first lead
(setup), and check a database and its files (doctor)."""
