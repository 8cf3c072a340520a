"""Stage 5: every policy fitted on the training period, backtested over the held-out days and scored; the service–cost frontier and the location hold-out."""
