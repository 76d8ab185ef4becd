"""Material requirements planning: the pure time-phased engine (:mod:`.engine`)."""
