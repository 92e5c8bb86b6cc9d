"""One router per SDMX-REST resource family."""
