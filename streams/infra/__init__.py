"""What every process shares with the outside world but none of the rules: how Kafka
clients authenticate (TLS, SASL) and how logs are written.  Used by the drivers, the
producers and the command line; it imports nothing of theirs."""
