"""The faces a person looks at: the console (`app`) and the wall display (`wall`) on one base
app (`base`), the console's watchers (`watch`), their screens and widgets. Nothing here is
imported by the domain half (core, services, rules)."""
