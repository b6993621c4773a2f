"""The command line: parse, call the stage packages, render. Heavy imports stay inside commands."""
