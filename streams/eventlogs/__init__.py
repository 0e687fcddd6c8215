"""Event logs as files: XES, CSV and JSON Lines readers, and the mapping of a process-
mining log onto dossier events.  Used by replay and by the publisher alike."""
