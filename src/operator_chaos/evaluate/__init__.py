"""Pure judgement: observations in, verdict and deviations out. No I/O."""
