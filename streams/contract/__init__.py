"""The contract with the world outside: dossier events in, alerts out.

Types and their (de)serialisation only — standard library and msgspec — so that every
other package (the core, the drivers, producers, alerts) can depend on it and it on none
of them."""
