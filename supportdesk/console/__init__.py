"""The faces a person looks at: the console (`app`), the wall display (`wall`), their
screens and widgets. Nothing here is imported by the domain half (core, services, rules)."""
